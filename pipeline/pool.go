package pipeline

import (
	"context"
	"errors"
	"sync"
)

// Ordered runs work on every item that next produces, on `workers`
// goroutines, and calls emit with the results in the order the items were
// produced, so the output never depends on the number of workers.
//
// next is called from a single goroutine until it returns ok == false or
// an error; emit is called from the caller's goroutine. At most 2*workers
// items are in flight, which bounds memory. The first error (from next,
// work or emit) or the cancellation of ctx stops everything; Ordered
// returns that error after every goroutine has finished. workers < 1
// means 1.
func Ordered[In, Out any](ctx context.Context, workers int,
	next func() (item In, ok bool, err error),
	work func(ctx context.Context, item In) (Out, error),
	emit func(Out) error) error {
	if workers < 1 {
		workers = 1
	}
	parent := ctx
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	type result struct {
		out Out
		err error
	}
	type job struct {
		item In
		slot chan result
	}
	jobs := make(chan job)
	order := make(chan chan result, 2*workers)
	var prodErr error
	var wg sync.WaitGroup

	wg.Add(1)
	go func() { // producer
		defer wg.Done()
		defer close(order)
		defer close(jobs)
		for {
			if ctx.Err() != nil {
				return
			}
			item, ok, err := next()
			if err != nil {
				prodErr = err
				return
			}
			if !ok {
				return
			}
			slot := make(chan result, 1)
			select {
			case order <- slot:
			case <-ctx.Done():
				return
			}
			select {
			case jobs <- job{item, slot}:
			case <-ctx.Done():
				return
			}
		}
	}()
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				out, err := work(ctx, j.item)
				j.slot <- result{out, err}
			}
		}()
	}

	var firstErr error
	for slot := range order {
		var r result
		select {
		case r = <-slot:
		case <-ctx.Done():
		}
		if firstErr != nil {
			continue
		}
		if ctx.Err() != nil {
			firstErr = ctx.Err()
			cancel()
			continue
		}
		if r.err != nil {
			firstErr = r.err
			cancel()
			continue
		}
		if err := emit(r.out); err != nil {
			firstErr = err
			cancel()
		}
	}
	cancel()
	wg.Wait()
	if firstErr == nil && prodErr != nil {
		firstErr = prodErr
	}
	if firstErr == nil && parent.Err() != nil {
		firstErr = context.Cause(parent)
	}
	if firstErr != nil && errors.Is(firstErr, context.Canceled) && parent.Err() != nil {
		firstErr = context.Cause(parent)
	}
	return firstErr
}

// SliceItems returns a next function for Ordered that yields the elements
// of items in order.
func SliceItems[T any](items []T) func() (T, bool, error) {
	i := 0
	return func() (T, bool, error) {
		var zero T
		if i >= len(items) {
			return zero, false, nil
		}
		i++
		return items[i-1], true, nil
	}
}
