package llm_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/deluge-go/deluge/cache"
	"github.com/deluge-go/deluge/conversation"
	"github.com/deluge-go/deluge/llm"
	"github.com/deluge-go/deluge/llm/llmtest"
)

// TestStatsSavedCost: a cache hit costs nothing, counts no tokens, and
// adds the original price to Stats.SavedCost (docs/cache.md promised it).
func TestStatsSavedCost(t *testing.T) {
	p := llmtest.New(func(_ context.Context, req *llm.Request, _ int) (*llm.Response, error) {
		r := llmtest.TextResponse(req, "hi")
		r.Usage = llm.Usage{InputTokens: 10, OutputTokens: 5}
		r.Cost = 0.25
		return r, nil
	})
	for name, store := range map[string]llm.Cache{"memory": cache.NewMemory(0), "forgetful": forgetful{cache.NewMemory(0)}} {
		t.Run(name, func(t *testing.T) {
			c := newClient(t, p, llm.WithCache(store))
			conv := conversation.New().User("hello " + name)
			first, err := c.Generate(context.Background(), conv)
			require.NoError(t, err)
			assert.InDelta(t, 0.25, first.Cost, 1e-12)
			hit, err := c.Generate(context.Background(), conv)
			require.NoError(t, err)
			require.True(t, hit.Cached)
			assert.Zero(t, hit.Cost)

			st := c.Stats()
			assert.Equal(t, int64(1), st.CacheHits)
			assert.InDelta(t, 0.25, st.Cost, 1e-12, "paid once")
			assert.Equal(t, int64(10), st.InputTokens, "the hit's tokens were not paid")
			if name == "memory" {
				assert.InDelta(t, 0.25, st.SavedCost, 1e-12, "the original price")
			} else {
				// A store that drops the price: the usage at the model's
				// catalog prices (none for this test model).
				assert.Zero(t, st.SavedCost)
			}
		})
	}
}

// forgetful is a store that returns hits without their price.
type forgetful struct{ *cache.Memory }

func (f forgetful) Get(ctx context.Context, key string) (*llm.Response, bool, error) {
	r, ok, err := f.Memory.Get(ctx, key)
	if r != nil {
		r.Cost = 0
	}
	return r, ok, err
}
