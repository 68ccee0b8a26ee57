package cachetest_test

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"github.com/deluge-go/deluge/cache/cachetest"
	"github.com/deluge-go/deluge/llm"
)

// mapStore is a minimal correct store: deep copies in, shallow copies out.
type mapStore struct {
	mu sync.Mutex
	m  map[string]*llm.Response
	// flaws, for the broken stores below.
	share, keepHeader, clearArg bool
}

func newMapStore() *mapStore { return &mapStore{m: map[string]*llm.Response{}} }

func (s *mapStore) Get(_ context.Context, key string) (*llm.Response, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.m[key]
	if !ok {
		return nil, false, nil
	}
	if s.share {
		return r, true, nil
	}
	return r.Clone(), true, nil
}

func (s *mapStore) Put(_ context.Context, key string, resp *llm.Response) error {
	c := resp
	if !s.share {
		c = resp.Clone()
	}
	if !s.keepHeader {
		if s.share {
			cp := *c
			c = &cp
		}
		c.Header = nil
	}
	if s.clearArg {
		resp.Header = nil
	}
	s.mu.Lock()
	s.m[key] = c
	s.mu.Unlock()
	return nil
}

// TestMapStore: a store that keeps deep copies and hands out copies passes.
func TestMapStore(t *testing.T) {
	cachetest.Run(t, func(*testing.T) llm.Cache { return newMapStore() })
}

// Broken stores, each breaking one promise. The suite must catch them.
var broken = map[string]struct {
	store                func() *mapStore
	failing, explanation string
}{
	"shares": {func() *mapStore { s := newMapStore(); s.share = true; return s },
		"PutCopies", "changing a response after Put"},
	"keeps-headers": {func() *mapStore { s := newMapStore(); s.keepHeader = true; return s },
		"RoundTrip", "Header is nil"},
	"clears-argument": {func() *mapStore { s := newMapStore(); s.clearArg = true; return s },
		"PutLeavesItsArgument", "Put leaves the response it is given"},
}

// TestBrokenStore is the suite run against one broken store, chosen by
// CACHETEST_BROKEN; TestSuiteCatchesBrokenStores runs it in a child
// process and expects it to fail.
func TestBrokenStore(t *testing.T) {
	name := os.Getenv("CACHETEST_BROKEN")
	if name == "" {
		t.Skip("run by TestSuiteCatchesBrokenStores")
	}
	cachetest.Run(t, func(*testing.T) llm.Cache { return broken[name].store() })
}

func TestSuiteCatchesBrokenStores(t *testing.T) {
	if testing.Short() {
		t.Skip("runs child test processes")
	}
	for name, b := range broken {
		t.Run(name, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestBrokenStore$", "-test.v")
			cmd.Env = append(os.Environ(), "CACHETEST_BROKEN="+name)
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("the suite passed a store that should fail %s:\n%s", b.failing, out)
			}
			s := string(out)
			if !strings.Contains(s, "--- FAIL: TestBrokenStore/"+b.failing) {
				t.Errorf("case %s did not fail:\n%s", b.failing, s)
			}
			if !strings.Contains(s, b.explanation) {
				t.Errorf("failure output lacks the case's explanation %q:\n%s", b.explanation, s)
			}
		})
	}
}
