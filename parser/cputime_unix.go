//go:build unix

package parser

import "syscall"

// ProcessCPUSeconds returns the user+system CPU time of this process, for
// speed figures that mean something on a shared machine (tokens per
// CPU-second rather than per wall-second).
func ProcessCPUSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}
