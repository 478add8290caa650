// SPDX-License-Identifier: MIT
// Issue 3 workload in Go: N times, 100 goroutines that return at once,
// waited for with a sync.WaitGroup (Go's nearest to a task group); run
// with GOMAXPROCS=1. Usage: group [N]
package main

import (
	"encoding/json"
	"os"
	"strconv"
	"sync"
	"time"
)

func main() {
	n := 20000
	if len(os.Args) > 1 {
		n, _ = strconv.Atoi(os.Args[1])
	}
	start := time.Now()
	for i := 0; i < n; i++ {
		var wg sync.WaitGroup
		for c := 0; c < 100; c++ {
			wg.Add(1)
			go func() { wg.Done() }()
		}
		wg.Wait()
	}
	dt := time.Since(start).Seconds()
	json.NewEncoder(os.Stdout).Encode(map[string]interface{}{
		"impl": "Go", "n": n, "us_per_group": dt * 1e6 / float64(n),
	})
}
