//go:build !unix

package parser

// ProcessCPUSeconds returns 0 where the CPU time is not available.
func ProcessCPUSeconds() float64 { return 0 }
