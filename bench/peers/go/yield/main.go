// SPDX-License-Identifier: MIT
// Workload (a) in Go: two goroutines call runtime.Gosched() N times each
// (2N switches), or with -chan play ping-pong over unbuffered channels
// (N round trips, 2N switches). Prints ns per switch; run with GOMAXPROCS=1.
// Usage: yield [-chan] [N]
package main

import (
	"encoding/json"
	"flag"
	"os"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"time"
)

func main() {
	useChan := flag.Bool("chan", false, "channel ping-pong instead of Gosched")
	flag.Parse()
	n := 10000000
	if flag.NArg() > 0 {
		n, _ = strconv.Atoi(flag.Arg(0))
	}
	impl := "Go (Gosched)"
	start := time.Now()
	var wg sync.WaitGroup
	wg.Add(2)
	if *useChan {
		impl = "Go (channel)"
		ping, pong := make(chan int), make(chan int)
		go func() {
			defer wg.Done()
			for i := 0; i < n; i++ {
				ping <- i
				<-pong
			}
		}()
		go func() {
			defer wg.Done()
			for i := 0; i < n; i++ {
				<-ping
				pong <- i
			}
		}()
	} else {
		for k := 0; k < 2; k++ {
			go func() {
				defer wg.Done()
				for i := 0; i < n; i++ {
					runtime.Gosched()
				}
			}()
		}
	}
	wg.Wait()
	elapsed := time.Since(start).Seconds()
	emit(map[string]interface{}{
		"impl": impl, "n": n, "switches": 2 * n, "elapsed_s": elapsed,
		"ns_per_switch": elapsed * 1e9 / float64(2*n),
	})
}

func emit(m map[string]interface{}) {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	m["maxrss_kib"] = ru.Maxrss
	m["gomaxprocs"] = runtime.GOMAXPROCS(0)
	json.NewEncoder(os.Stdout).Encode(m)
}
