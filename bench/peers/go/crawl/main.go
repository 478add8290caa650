// SPDX-License-Identifier: MIT
// Workload (x), Go's side: a crawl of N small pages, CONCURRENCY at a
// time, with net/http's client as idiomatic Go writes it: one
// http.Client whose Transport keeps CONCURRENCY idle connections to the
// host. CONCURRENCY goroutines take the next page number and GET
// URL<number>, read the body and check the status. A warm-up of N/10
// pages comes first, untimed. Prints one line of JSON, as
// bench_http_crawl does; runs with GOMAXPROCS=1.
// Usage: crawl N URL [CONCURRENCY]
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

type crawl struct {
	client   *http.Client
	url      string
	next     int64
	end      int64
	failed   int64
	bytes    int64
	firstErr atomic.Value
}

func (c *crawl) worker(wg *sync.WaitGroup) {
	defer wg.Done()
	for {
		i := atomic.AddInt64(&c.next, 1) - 1
		if i >= c.end {
			return
		}
		r, err := c.client.Get(c.url + strconv.FormatInt(i, 10))
		if err == nil {
			var n int64
			n, err = io.Copy(io.Discard, r.Body)
			r.Body.Close()
			atomic.AddInt64(&c.bytes, n)
			if err == nil && r.StatusCode != 200 {
				err = fmt.Errorf("status %d", r.StatusCode)
			}
		}
		if err != nil {
			atomic.AddInt64(&c.failed, 1)
			c.firstErr.CompareAndSwap(nil, err.Error())
		}
	}
}

func (c *crawl) phase(end int64, conc int) float64 {
	t0 := time.Now()
	c.end = end
	var wg sync.WaitGroup
	for i := 0; i < conc; i++ {
		wg.Add(1)
		go c.worker(&wg)
	}
	wg.Wait()
	// Workers that found nothing left pushed next past end.
	c.next = end
	return time.Since(t0).Seconds()
}

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: crawl N URL [CONCURRENCY]")
		os.Exit(2)
	}
	n, _ := strconv.ParseInt(os.Args[1], 10, 64)
	conc := 64
	if len(os.Args) > 3 {
		conc, _ = strconv.Atoi(os.Args[3])
	}
	tr := &http.Transport{MaxIdleConns: conc, MaxIdleConnsPerHost: conc,
		MaxConnsPerHost: conc}
	c := &crawl{client: &http.Client{Transport: tr}, url: os.Args[2]}
	warm := n / 10
	if warm < 1 {
		warm = 1
	}
	c.phase(warm, conc)
	warmFailed := c.failed
	c.bytes = 0
	secs := c.phase(warm+n, conc)
	if c.failed > 0 {
		fmt.Fprintf(os.Stderr, "crawl: %d pages failed, the first with %v\n",
			c.failed, c.firstErr.Load())
	}
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	out, _ := json.Marshal(map[string]interface{}{
		"requests": n, "concurrency": conc, "secs": secs,
		"req_per_s": float64(n) / secs, "bytes": c.bytes,
		"failed": c.failed - warmFailed, "warmup": warm,
		"backend": "net/http", "maxrss_kib": ru.Maxrss,
	})
	fmt.Println(string(out))
	if c.failed > 0 {
		os.Exit(1)
	}
}
