// SPDX-License-Identifier: MIT
// Workload (d) in Go: N time.AfterFunc timers with delays uniform in
// [0, 1 s); each callback records how late it ran on the monotonic clock.
// Prints the lateness median, p99, max and the number of early fires.
// Usage: timers [N] [secs]
package main

import (
	"encoding/json"
	"flag"
	"math/rand"
	"os"
	"runtime"
	"sort"
	"strconv"
	"sync/atomic"
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
	rnd := rand.New(rand.NewSource(1))
	late := make([]time.Duration, n)
	left := int64(n)
	done := make(chan struct{})
	start := time.Now()
	for i := 0; i < n; i++ {
		d := time.Duration(rnd.Float64() * secs * float64(time.Second))
		// Read the clock before scheduling, so an early fire shows.
		due := time.Now().Add(d)
		i := i
		time.AfterFunc(d, func() {
			late[i] = time.Since(due)
			if atomic.AddInt64(&left, -1) == 0 {
				close(done)
			}
		})
	}
	scheduled := time.Since(start).Seconds()
	<-done
	elapsed := time.Since(start).Seconds()
	early := 0
	for _, l := range late {
		if l < 0 {
			early++
		}
	}
	// A typed sort: sort.Slice's reflection would bill Go for the
	// statistics rather than the timers.
	sort.Sort(durations(late))
	ms := func(d time.Duration) float64 { return d.Seconds() * 1e3 }
	emit(map[string]interface{}{
		"impl":           "Go",
		"n":              n,
		"span_s":         secs,
		"elapsed_s":      elapsed,
		"schedule_s":     scheduled,
		"late_min_ms":    ms(late[0]),
		"late_median_ms": ms(late[n/2]),
		"late_p99_ms":    ms(late[int(float64(n)*0.99)]),
		"late_max_ms":    ms(late[n-1]),
		"early":          early,
	})
}

func emit(m map[string]interface{}) {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	m["maxrss_kib"] = ru.Maxrss
	m["gomaxprocs"] = runtime.GOMAXPROCS(0)
	json.NewEncoder(os.Stdout).Encode(m)
}

type durations []time.Duration

func (d durations) Len() int           { return len(d) }
func (d durations) Less(a, b int) bool { return d[a] < d[b] }
func (d durations) Swap(a, b int)      { d[a], d[b] = d[b], d[a] }
