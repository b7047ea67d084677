// Command cpu measures the CPU time of each stage of the T-REx hot path on
// one file (split only; split + decode; split + decode + clean), with
// getrusage, so that figures stay meaningful on a busy machine.
//
//	go run ./bench/trex/cpu FILE [repeats]
package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strconv"
	"syscall"
	"time"

	"github.com/kadapter/kadapter/cleaners/trex"
	"github.com/kadapter/kadapter/pipeline"
)

func cpu() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: cpu FILE [repeats]")
		os.Exit(2)
	}
	data, err := os.ReadFile(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	reps := 3
	if len(os.Args) > 2 {
		reps, _ = strconv.Atoi(os.Args[2])
	}
	stage := func(name string, fn func(raw []byte)) {
		t0, w0 := cpu(), time.Now()
		for i := 0; i < reps; i++ {
			a := pipeline.NewArrayReader(bytes.NewReader(data), "in", pipeline.ArrayOptions{})
			for {
				raw, err := a.Next()
				if err == io.EOF {
					break
				}
				if err != nil {
					fmt.Fprintln(os.Stderr, err)
					os.Exit(1)
				}
				fn(raw)
			}
		}
		c := cpu() - t0
		mb := float64(len(data)) * float64(reps) / 1e6
		fmt.Printf("%-22s %7.1f MB/s per CPU second (%.2fs CPU, %.2fs wall)\n", name, mb/c.Seconds(), c.Seconds(), time.Since(w0).Seconds())
	}
	c := trex.NewCleaner()
	n := 0
	emit := func(ex *trex.Example) error { n += len(ex.Tokens); return nil }
	{
		t0, w0 := cpu(), time.Now()
		var doc *trex.Document
		try := func(avail []byte) (int, bool) {
			d, k, ok := c.DecodePrefix(avail)
			doc = d
			return k, ok
		}
		for i := 0; i < reps; i++ {
			a := pipeline.NewArrayReader(bytes.NewReader(data), "in", pipeline.ArrayOptions{})
			for {
				raw, decoded, err := a.NextPrefix(try)
				if err == io.EOF {
					break
				}
				if err != nil {
					fmt.Fprintln(os.Stderr, err)
					os.Exit(1)
				}
				if decoded {
					c.CleanDocument(doc, emit)
				} else {
					c.Clean(raw, emit)
				}
			}
		}
		cs := cpu() - t0
		mb := float64(len(data)) * float64(reps) / 1e6
		fmt.Printf("%-22s %7.1f MB/s per CPU second (%.2fs CPU, %.2fs wall)\n", "in-place decode+clean", mb/cs.Seconds(), cs.Seconds(), time.Since(w0).Seconds())
	}
	stage("split", func([]byte) {})
	stage("split+decode", func(raw []byte) { c.Decode(raw) })
	stage("split+decode+clean", func(raw []byte) { c.Clean(raw, emit) })
}
