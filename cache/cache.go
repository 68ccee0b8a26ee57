package cache

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sync/atomic"

	"github.com/deluge-go/deluge/conversation"
	"github.com/deluge-go/deluge/llm"
)

// Errors returned by the stores.
var (
	// ErrClosed is returned by the methods of a store that has been closed.
	ErrClosed = errors.New("cache: store is closed")
	// ErrNewerSchema is wrapped by the error OpenSQLite returns for a file
	// written by a newer deluge.
	ErrNewerSchema = errors.New("cache: file has a newer schema")
	// ErrNotCache is wrapped by the error OpenSQLite returns for an SQLite
	// file that belongs to something else.
	ErrNotCache = errors.New("cache: not a deluge cache file")
)

// Stats counts a store's activity. Hits, Misses, Puts and the other counters
// are those of this store value (this process's handle, for SQLite); Entries
// is the number of responses stored (for SQLite, by all processes).
type Stats struct {
	Hits   int64 // lookups that found a response
	Misses int64 // lookups that did not
	Puts   int64 // responses stored
	// Entries is the number of stored responses.
	Entries int64
	// Evictions counts entries dropped to stay within a bound: Memory's
	// size, or SQLite's WithMaxEntries.
	Evictions int64
	// Expired counts lookups that found an entry older than the TTL (they
	// are also counted as misses).
	Expired int64
	// Corrupt counts stored entries that could not be decoded (also counted
	// as misses).
	Corrupt int64
	// WriteErrors counts Puts that SQLite failed to commit.
	WriteErrors int64
	// SavedCost is the sum, in USD, of the original Cost of every response
	// served from the cache.
	SavedCost float64
}

// HitRate returns Hits / (Hits + Misses), or 0 before any lookup.
func (s Stats) HitRate() float64 {
	if n := s.Hits + s.Misses; n > 0 {
		return float64(s.Hits) / float64(n)
	}
	return 0
}

// DefaultPath returns the cache file the CLI uses:
// os.UserCacheDir()/deluge/cache.db. The file and its directory are created
// by OpenSQLite, not here.
func DefaultPath() (string, error) {
	dir, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("cache: locate the user cache directory: %w (set XDG_CACHE_HOME or HOME, or give a cache path explicitly)", err)
	}
	return filepath.Join(dir, "deluge", "cache.db"), nil
}

func checkPut(key string, resp *llm.Response) error {
	if key == "" {
		return errors.New("cache: Put with an empty key: use Request.Fingerprint()")
	}
	if resp == nil {
		return errors.New("cache: Put with a nil response")
	}
	return nil
}

// hitCopy returns a fresh Response for a hit on the stored (immutable)
// response r: the struct and the slices a caller could append to or assign
// into are copied; the values they point to are shared.
func hitCopy(r *llm.Response) *llm.Response {
	// The common reply (one message part, at most one prompt-filter entry,
	// no log-probabilities) takes a single allocation.
	if len(r.Message.Parts) <= 1 && len(r.PromptFilter) <= 1 && r.Logprobs == nil {
		h := new(struct {
			resp   llm.Response
			part   [1]conversation.Part
			filter [1]llm.ContentFilterResults
		})
		h.resp = *r
		if r.Message.Parts != nil {
			h.resp.Message.Parts = h.part[:copy(h.part[:], r.Message.Parts):1]
		}
		if r.PromptFilter != nil {
			h.resp.PromptFilter = h.filter[:copy(h.filter[:], r.PromptFilter):1]
		}
		return &h.resp
	}
	c := new(llm.Response)
	*c = *r
	c.Message.Parts = cloneSlice(r.Message.Parts)
	c.PromptFilter = cloneSlice(r.PromptFilter)
	c.Logprobs = cloneSlice(r.Logprobs)
	return c
}

// cloneSlice is slices.Clone without capacity rounding.
func cloneSlice[S ~[]E, E any](s S) S {
	if s == nil {
		return nil
	}
	c := make(S, len(s))
	copy(c, s)
	return c
}

// storedForm returns the response as a store keeps it: a deep copy without
// Header, with Cached set (a hit), the original Cost, and an assistant
// role when the provider left it empty (a message without a role does not
// decode).
func storedForm(r *llm.Response) *llm.Response {
	noHeader := *r
	noHeader.Header = nil
	c := noHeader.Clone()
	if c.Message.Role == "" {
		c.Message.Role = conversation.RoleAssistant
	}
	c.Cached = true
	return c
}

// atomicFloat is a float64 that can be added to concurrently.
type atomicFloat struct{ bits atomic.Uint64 }

func (f *atomicFloat) add(d float64) {
	if d == 0 {
		return
	}
	for {
		old := f.bits.Load()
		if f.bits.CompareAndSwap(old, math.Float64bits(math.Float64frombits(old)+d)) {
			return
		}
	}
}

func (f *atomicFloat) load() float64 { return math.Float64frombits(f.bits.Load()) }
