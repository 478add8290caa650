// SPDX-License-Identifier: MIT
// Workload (w), Go's side: net/http answering GET / with "Hello, World!"
// as text/plain, as idiomatic Go writes it. Prints "port N" once
// listening; runs with GOMAXPROCS=1.
// Usage: http PORT
package main

import (
	"fmt"
	"net"
	"net/http"
	"os"
)

func main() {
	port := "0"
	if len(os.Args) > 1 {
		port = os.Args[1]
	}
	l, err := net.Listen("tcp4", "127.0.0.1:"+port)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("port %d\n", l.Addr().(*net.TCPAddr).Port)
	hello := []byte("Hello, World!")
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Write(hello)
	})
	http.Serve(l, nil)
}
