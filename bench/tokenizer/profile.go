package main

import (
	"os"
	"runtime/pprof"
)

// startProfile starts a CPU profile written to path and returns its stop.
func startProfile(path string) func() {
	f, err := os.Create(path)
	if err != nil {
		fail(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		fail(err)
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}
}
