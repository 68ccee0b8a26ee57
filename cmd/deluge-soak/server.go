package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/deluge-go/deluge/providers/azurefoundry/azuretest"
)

// ledger wraps the emulator and records, per prompt, what the server did:
// the requests that arrived, the 200 responses it completed (billed), when
// the first arrived and when the first 200 was completed.
type ledger struct {
	next http.Handler

	mu      sync.Mutex
	prompts []promptLog // by prompt number - 1
	other   int         // requests that name no prompt
}

type promptLog struct {
	arrivals, paid int
	firstArrival   time.Time
	// firstPaid is when the first 200 was completed, and paidArrival when
	// the request it answered arrived.
	firstPaid, paidArrival time.Time
}

func newLedger(h *azuretest.Handler, n int) *ledger {
	return &ledger{next: h, prompts: make([]promptLog, n)}
}

// statusWriter keeps the status a handler wrote.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection (the
// emulator's injected resets hijack it).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (l *ledger) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	r.Body.Close()
	if err != nil {
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	n := promptNumber(body)
	now := time.Now()
	l.mu.Lock()
	if n >= 1 && n <= len(l.prompts) {
		p := &l.prompts[n-1]
		if p.arrivals == 0 {
			p.firstArrival = now
		}
		p.arrivals++
	} else {
		l.other++
	}
	l.mu.Unlock()

	sw := &statusWriter{ResponseWriter: w}
	l.next.ServeHTTP(sw, r)
	if sw.status != http.StatusOK || n < 1 || n > len(l.prompts) {
		return
	}
	done := time.Now()
	l.mu.Lock()
	p := &l.prompts[n-1]
	if p.paid == 0 {
		p.firstPaid, p.paidArrival = done, now
	}
	p.paid++
	l.mu.Unlock()
}

// promptNumber reads N from a chat request whose last message is
// "soak prompt N"; 0 when it is not one.
func promptNumber(body []byte) int {
	var req struct {
		Messages []struct {
			Content json.RawMessage `json:"content"`
		} `json:"messages"`
	}
	if json.Unmarshal(body, &req) != nil || len(req.Messages) == 0 {
		return 0
	}
	var text string
	if json.Unmarshal(req.Messages[len(req.Messages)-1].Content, &text) != nil {
		return 0
	}
	n, err := strconv.Atoi(strings.TrimPrefix(text, promptPrefix))
	if err != nil {
		return 0
	}
	return n
}

// paidPrompts counts the prompts with at least one 200.
func (l *ledger) paidPrompts() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	k := 0
	for i := range l.prompts {
		if l.prompts[i].paid > 0 {
			k++
		}
	}
	return k
}

// snapshot copies the ledger.
func (l *ledger) snapshot() []promptLog {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]promptLog(nil), l.prompts...)
}
