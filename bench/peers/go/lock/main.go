// SPDX-License-Identifier: MIT
// Issue 3 workload in Go: sync.Mutex uncontended N times, then 100
// goroutines each taking it N/1000 times with runtime.Gosched() inside;
// run with GOMAXPROCS=1. Usage: lock [N]
package main

import (
	"encoding/json"
	"os"
	"runtime"
	"strconv"
	"sync"
	"time"
)

func main() {
	n := 10000000
	if len(os.Args) > 1 {
		n, _ = strconv.Atoi(os.Args[1])
	}
	var mu sync.Mutex
	start := time.Now()
	for i := 0; i < n; i++ {
		mu.Lock()
		mu.Unlock()
	}
	solo := time.Since(start).Seconds()

	each := n / 10 / 100
	var wg sync.WaitGroup
	start = time.Now()
	for g := 0; g < 100; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				mu.Lock()
				runtime.Gosched()
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	contended := time.Since(start).Seconds()
	json.NewEncoder(os.Stdout).Encode(map[string]interface{}{
		"impl": "Go", "n": n, "uncontended_ns": solo * 1e9 / float64(n),
		"contended_ns": contended * 1e9 / float64(each*100),
	})
}
