// SPDX-License-Identifier: MIT
// Workload (c) in Go: N goroutines alive at once, each sleeping 1 s, waited
// for with a sync.WaitGroup. bench/run takes wall time and peak RSS from
// wait4(). Usage: sleep [N] [secs]
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
	flag.Parse()
	n, secs := 1000000, 1.0
	if flag.NArg() > 0 {
		n, _ = strconv.Atoi(flag.Arg(0))
	}
	if flag.NArg() > 1 {
		secs, _ = strconv.ParseFloat(flag.Arg(1), 64)
	}
	d := time.Duration(secs * float64(time.Second))
	start := time.Now()
	var wg sync.WaitGroup
	wg.Add(n)
	for i := 0; i < n; i++ {
		go func() {
			time.Sleep(d)
			wg.Done()
		}()
	}
	spawned := time.Since(start).Seconds()
	wg.Wait()
	elapsed := time.Since(start).Seconds()
	emit(map[string]interface{}{
		"impl": "Go", "n": n, "sleep_s": secs, "elapsed_s": elapsed,
		"spawn_s": spawned,
	})
}

func emit(m map[string]interface{}) {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	m["maxrss_kib"] = ru.Maxrss
	m["gomaxprocs"] = runtime.GOMAXPROCS(0)
	json.NewEncoder(os.Stdout).Encode(m)
}
