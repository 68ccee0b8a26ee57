package cache

import (
	"context"
	"sync"

	"github.com/deluge-go/deluge/llm"
)

// DefaultMaxEntries is the bound NewMemory uses when given a bound below 1.
const DefaultMaxEntries = 10_000

// Memory is a bounded in-memory LRU store of responses, safe for concurrent
// use. Its zero value is not usable; call NewMemory.
type Memory struct {
	mu    sync.Mutex
	max   int
	items map[string]*memEntry
	// root is the sentinel of a circular doubly linked list ordered from most
	// (root.next) to least (root.prev) recently used.
	root memEntry

	hits, misses, puts, evictions int64
	saved                         float64
}

type memEntry struct {
	key string
	// resp is never modified once stored: a Put of the same key replaces the
	// pointer, so Get can copy it outside the lock.
	resp       *llm.Response
	cost       float64
	prev, next *memEntry
}

var _ llm.Cache = (*Memory)(nil)

// NewMemory returns an LRU store holding at most maxEntries responses; a
// bound below 1 means DefaultMaxEntries. Storing a response beyond the bound
// evicts the least recently used one (a Get or a Put counts as a use).
func NewMemory(maxEntries int) *Memory {
	if maxEntries < 1 {
		maxEntries = DefaultMaxEntries
	}
	m := &Memory{max: maxEntries, items: make(map[string]*memEntry, min(maxEntries, 1024))}
	m.root.next, m.root.prev = &m.root, &m.root
	return m
}

// Get returns the response stored under key, marking it most recently used.
// A hit has Cached set, the original Cost and no Header (see the package
// documentation).
//
// The returned Response is the caller's: its struct and its
// Message.Parts, PromptFilter and Logprobs slices are fresh copies. The
// values those slices and the ContentFilter field point to (tool calls, tool
// results, inline data, filter categories, log-probability alternatives) are
// shared with the store and with other hits and must be treated as
// read-only. Get never blocks on I/O and ignores ctx.
func (m *Memory) Get(_ context.Context, key string) (*llm.Response, bool, error) {
	m.mu.Lock()
	e, ok := m.items[key]
	if !ok {
		m.misses++
		m.mu.Unlock()
		return nil, false, nil
	}
	m.hits++
	m.saved += e.cost
	m.moveToFront(e)
	r := e.resp
	m.mu.Unlock()
	return hitCopy(r), true, nil
}

// Put stores a deep copy of resp under key (without its Header), replacing
// any response stored there, and evicts the least recently used response if
// the store is full. Later changes to resp do not affect the store.
func (m *Memory) Put(_ context.Context, key string, resp *llm.Response) error {
	if err := checkPut(key, resp); err != nil {
		return err
	}
	stored := storedForm(resp) // copy outside the lock
	m.mu.Lock()
	defer m.mu.Unlock()
	m.puts++
	if e, ok := m.items[key]; ok {
		e.resp, e.cost = stored, resp.Cost
		m.moveToFront(e)
		return nil
	}
	var e *memEntry
	if len(m.items) >= m.max {
		// Recycle the least recently used entry.
		e = m.root.prev
		m.unlink(e)
		delete(m.items, e.key)
		m.evictions++
	} else {
		e = new(memEntry)
	}
	e.key, e.resp, e.cost = key, stored, resp.Cost
	m.items[key] = e
	m.pushFront(e)
	return nil
}

// Len returns the number of stored responses.
func (m *Memory) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.items)
}

// Clear removes every stored response. Counters are kept.
func (m *Memory) Clear() {
	m.mu.Lock()
	defer m.mu.Unlock()
	clear(m.items)
	m.root.next, m.root.prev = &m.root, &m.root
}

// Stats returns the store's counters.
func (m *Memory) Stats() Stats {
	m.mu.Lock()
	defer m.mu.Unlock()
	return Stats{
		Hits:      m.hits,
		Misses:    m.misses,
		Puts:      m.puts,
		Entries:   int64(len(m.items)),
		Evictions: m.evictions,
		SavedCost: m.saved,
	}
}

func (m *Memory) unlink(e *memEntry) {
	e.prev.next = e.next
	e.next.prev = e.prev
	e.prev, e.next = nil, nil
}

func (m *Memory) pushFront(e *memEntry) {
	e.prev = &m.root
	e.next = m.root.next
	m.root.next.prev = e
	m.root.next = e
}

func (m *Memory) moveToFront(e *memEntry) {
	if m.root.next == e {
		return
	}
	m.unlink(e)
	m.pushFront(e)
}
