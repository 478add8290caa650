// SPDX-License-Identifier: MIT
// Workloads (o) and (s), Go's side of bench/scale.c: the same work with
// GOMAXPROCS=1 and then GOMAXPROCS=LOOPS, in one process. Mode echo: an
// echo server and CLIENTS client goroutines per "loop" sending 64 bytes over
// loopback TCP and waiting for them back. Mode cpu: client goroutines send a
// request (256 bytes to hash) on a channel with a reply channel; a server
// goroutine answers. Prints one JSON line like bench_scale.
// Usage: scale CLIENTS_PER_LOOP [SECONDS] [LOOPS] [echo|cpu]
package main

import (
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

func serve(c net.Conn) {
	defer c.Close()
	buf := make([]byte, 2048)
	for {
		n, err := c.Read(buf)
		if err != nil {
			return
		}
		if _, err := c.Write(buf[:n]); err != nil {
			return
		}
	}
}

type request struct {
	body  [256]byte
	reply chan uint32
}

func answer(q chan *request) {
	for r := range q {
		h := uint32(2166136261)
		for _, b := range r.body {
			h = (h ^ uint32(b)) * 16777619
		}
		r.reply <- h
	}
}

func run(procs, clients int, secs float64, cpu bool) float64 {
	runtime.GOMAXPROCS(procs)
	var total int64
	var wg sync.WaitGroup
	until := time.Now().Add(time.Duration(secs * float64(time.Second)))
	var listeners []net.Listener
	for l := 0; l < procs; l++ {
		if cpu {
			q := make(chan *request)
			go answer(q)
			for i := 0; i < clients; i++ {
				wg.Add(1)
				go func(seed byte) {
					defer wg.Done()
					r := &request{reply: make(chan uint32, 1)}
					for i := range r.body {
						r.body[i] = seed
					}
					n := int64(0)
					for time.Now().Before(until) {
						q <- r
						r.body[0] = byte(<-r.reply)
						n++
					}
					atomic.AddInt64(&total, n)
				}(byte(i))
			}
			defer close(q)
			continue
		}
		ln, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		listeners = append(listeners, ln)
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				go serve(c)
			}
		}()
		addr := ln.Addr().String()
		for i := 0; i < clients; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c, err := net.Dial("tcp4", addr)
				if err != nil {
					return
				}
				defer c.Close()
				msg := make([]byte, 64)
				back := make([]byte, 64)
				n := int64(0)
				for time.Now().Before(until) {
					if _, err := c.Write(msg); err != nil {
						break
					}
					if _, err := io.ReadFull(c, back); err != nil {
						break
					}
					n++
				}
				atomic.AddInt64(&total, n)
			}()
		}
	}
	wg.Wait()
	for _, ln := range listeners {
		ln.Close()
	}
	return float64(total) / secs
}

func main() {
	clients, secs, loops, mode := 50, 5.0, 2, "echo"
	if len(os.Args) > 1 {
		clients, _ = strconv.Atoi(os.Args[1])
	}
	if len(os.Args) > 2 {
		secs, _ = strconv.ParseFloat(os.Args[2], 64)
	}
	if len(os.Args) > 3 {
		loops, _ = strconv.Atoi(os.Args[3])
	}
	if len(os.Args) > 4 {
		mode = os.Args[4]
	}
	one := run(1, clients, secs, mode == "cpu")
	many := run(loops, clients, secs, mode == "cpu")
	fmt.Printf("{\"impl\": \"go\", \"mode\": \"%s\", \"n\": %d, \"loops\": %d, "+
		"\"rt_per_s_1\": %.0f, \"rt_per_s_n\": %.0f, \"scaling\": %.3f}\n",
		mode, clients, loops, one, many, many/one)
}
