package cachetest_test

import (
	"testing"

	"github.com/deluge-go/deluge/cache"
	"github.com/deluge-go/deluge/cache/cachetest"
	"github.com/deluge-go/deluge/llm"
)

// A store's test runs the suite on a fresh store per case.
func ExampleRun() {
	// In a _test.go file:
	_ = func(t *testing.T) {
		cachetest.Run(t, func(t *testing.T) llm.Cache {
			return cache.NewMemory(100)
		})
	}
}
