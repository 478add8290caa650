// SPDX-License-Identifier: MIT
// Issue 3 workload in Go: N items through a buffered channel of 1024 from
// one producer goroutine to one consumer; run with GOMAXPROCS=1.
// Usage: queue [N]
package main

import (
	"encoding/json"
	"os"
	"strconv"
	"time"
)

func main() {
	n := 10000000
	if len(os.Args) > 1 {
		n, _ = strconv.Atoi(os.Args[1])
	}
	ch := make(chan int, 1024)
	done := make(chan int)
	start := time.Now()
	go func() {
		s := 0
		for i := 0; i < n; i++ {
			s += <-ch
		}
		done <- s
	}()
	for i := 0; i < n; i++ {
		ch <- i
	}
	if s := <-done; s != n*(n-1)/2 {
		os.Exit(1)
	}
	dt := time.Since(start).Seconds()
	json.NewEncoder(os.Stdout).Encode(map[string]interface{}{
		"impl": "Go (channel)", "n": n, "elapsed_s": dt,
		"items_per_s": float64(n) / dt, "ns_per_item": dt * 1e9 / float64(n),
	})
}
