// SPDX-License-Identifier: MIT
// Workload (b) in Go: start N goroutines that return at once, then wait
// for all with a sync.WaitGroup. Prints ns per goroutine; run with
// GOMAXPROCS=1. Usage: spawn [N]
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
	n := 1000000
	if flag.NArg() > 0 {
		n, _ = strconv.Atoi(flag.Arg(0))
	}
	start := time.Now()
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() { wg.Done() }()
	}
	spawned := time.Since(start).Seconds()
	wg.Wait()
	elapsed := time.Since(start).Seconds()
	emit(map[string]interface{}{
		"impl": "Go", "n": n, "elapsed_s": elapsed, "spawn_s": spawned,
		"ns_per_task": elapsed * 1e9 / float64(n),
	})
}

func emit(m map[string]interface{}) {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	m["maxrss_kib"] = ru.Maxrss
	m["gomaxprocs"] = runtime.GOMAXPROCS(0)
	json.NewEncoder(os.Stdout).Encode(m)
}
