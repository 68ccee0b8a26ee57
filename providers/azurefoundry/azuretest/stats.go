package azuretest

import (
	"maps"
	"slices"
	"sync"
	"time"
)

// StatusClientClosed is recorded for a request whose client went away before
// the response was written (nginx's convention); StatusReset for one whose
// connection the emulator reset on purpose.
const (
	StatusClientClosed = 499
	StatusReset        = 0
)

// Stats is a snapshot of what the emulator received.
type Stats struct {
	Requests     int            // every request, any route and outcome
	ByDeployment map[string]int // chat requests by deployment name as requested
	ByStatus     map[int]int    // responses by HTTP status (StatusReset, StatusClientClosed included)
	RateLimited  int            // 429 responses: quota, daily quota and injected
	// Arrivals lists the newest requests (see WithArrivalLog) in arrival order.
	Arrivals []Arrival
}

// Arrival describes one request.
type Arrival struct {
	Time       time.Time // when the request arrived (handler clock)
	Path       string
	Deployment string // "" outside the chat routes
	Status     int
	Stream     bool
	// RetryAfter is the retry-after-ms announced by a 429, else 0.
	RetryAfter time.Duration
}

type statsRecorder struct {
	mu          sync.Mutex
	requests    int
	byDep       map[string]int
	byStatus    map[int]int
	rateLimited int
	ring        []Arrival
	next        int
	full        bool
}

func newStatsRecorder(size int) *statsRecorder {
	return &statsRecorder{
		byDep:    make(map[string]int),
		byStatus: make(map[int]int),
		ring:     make([]Arrival, 0, min(size, 1024)),
	}
}

func (s *statsRecorder) record(a Arrival, size int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests++
	if a.Deployment != "" {
		s.byDep[a.Deployment]++
	}
	s.byStatus[a.Status]++
	if a.Status == 429 {
		s.rateLimited++
	}
	switch {
	case size == 0:
	case len(s.ring) < size:
		s.ring = append(s.ring, a)
	default:
		s.ring[s.next] = a
		s.next = (s.next + 1) % size
		s.full = true
	}
}

func (s *statsRecorder) snapshot() Stats {
	s.mu.Lock()
	arr := make([]Arrival, 0, len(s.ring))
	if s.full {
		arr = append(arr, s.ring[s.next:]...)
		arr = append(arr, s.ring[:s.next]...)
	} else {
		arr = append(arr, s.ring...)
	}
	st := Stats{
		Requests:     s.requests,
		ByDeployment: maps.Clone(s.byDep),
		ByStatus:     maps.Clone(s.byStatus),
		RateLimited:  s.rateLimited,
	}
	s.mu.Unlock()
	// Requests are recorded when they finish; order them by arrival.
	slices.SortStableFunc(arr, func(a, b Arrival) int { return a.Time.Compare(b.Time) })
	st.Arrivals = arr
	return st
}

func (s *statsRecorder) reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests, s.rateLimited, s.next, s.full = 0, 0, 0, false
	clear(s.byDep)
	clear(s.byStatus)
	s.ring = s.ring[:0]
}
