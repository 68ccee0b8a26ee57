package registry_test

import (
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/deluge-go/deluge/registry"
)

// runs numbers each run of a test so that IDs it must register itself stay
// fresh under -count=N: registrations are global.
var runs atomic.Int32

func TestRegisterLookup(t *testing.T) {
	id := fmt.Sprintf("reg-test-a-%d", runs.Add(1))
	m := registry.Model{ID: id, Provider: "openai", InputCost: 2.5, OutputCost: 10, Regions: map[string]float64{"eastus": 1}}
	require.NoError(t, registry.Register(m))
	got, err := registry.Lookup(id)
	require.NoError(t, err)
	assert.Equal(t, id, got.Name, "Name defaults to ID")
	got.Regions["eastus"] = 99
	again, _ := registry.Lookup(id)
	assert.Equal(t, 1.0, again.Regions["eastus"], "Lookup returns a copy")

	err = registry.Register(m)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "already registered")
}

func TestRegisterValidation(t *testing.T) {
	cases := map[string]struct {
		m    registry.Model
		want string
	}{
		"empty id":        {registry.Model{Provider: "openai"}, "empty ID"},
		"spaces":          {registry.Model{ID: " x ", Provider: "openai"}, "spaces"},
		"no provider":     {registry.Model{ID: "reg-v-1"}, "no Provider"},
		"negative price":  {registry.Model{ID: "reg-v-2", Provider: "openai", InputCost: -1}, "cannot be negative"},
		"nan price":       {registry.Model{ID: "reg-v-3", Provider: "openai", OutputCost: math.NaN()}, "OutputCost"},
		"negative window": {registry.Model{ID: "reg-v-4", Provider: "openai", ContextWindow: -5}, "ContextWindow"},
		"bad spec":        {registry.Model{ID: "reg-v-5", Provider: "openai", APISpec: "soap"}, `unknown APISpec "soap"`},
		"bad base":        {registry.Model{ID: "reg-v-6", Provider: "openai", APIBase: "my-resource"}, "not an absolute URL"},
		"bad region":      {registry.Model{ID: "reg-v-7", Provider: "openai", Regions: map[string]float64{"eastus": -1}}, "region"},
		"empty region":    {registry.Model{ID: "reg-v-8", Provider: "openai", Regions: map[string]float64{"": 1}}, "empty name"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			err := registry.Register(tc.m)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			if tc.m.ID != "" {
				_, lerr := registry.Lookup(tc.m.ID)
				assert.Error(t, lerr, "an invalid model must not be registered")
			}
		})
	}
}

// ensure registers m unless an earlier run of the test (under -count=N)
// already did: registrations are global.
func ensure(t *testing.T, m registry.Model) {
	t.Helper()
	if _, err := registry.Lookup(m.ID); err == nil {
		return
	}
	require.NoError(t, registry.Register(m))
}

func TestLookupSuggests(t *testing.T) {
	for _, id := range []string{"sugg-gpt-4o", "sugg-gpt-4o-mini", "sugg-o3"} {
		ensure(t, registry.Model{ID: id, Provider: "openai"})
	}
	_, err := registry.Lookup("sugg-gpt4o")
	require.Error(t, err)
	assert.True(t, errors.Is(err, registry.ErrNotFound))
	assert.Contains(t, err.Error(), `did you mean "sugg-gpt-4o"`)

	assert.Equal(t, []string{"sugg-gpt-4o", "sugg-gpt-4o-mini"}, registry.Suggest("sugg-gpt-4o", 2))
	assert.Empty(t, registry.Suggest("completely-unrelated-name-xyz", 3))
}

func TestModelsSorted(t *testing.T) {
	ensure(t, registry.Model{ID: "sort-b", Provider: "openai"})
	ensure(t, registry.Model{ID: "sort-a", Provider: "openai"})
	ms := registry.Models()
	require.NotEmpty(t, ms)
	for i := 1; i < len(ms); i++ {
		assert.Less(t, ms[i-1].ID, ms[i].ID)
	}
}

func TestForProvider(t *testing.T) {
	ensure(t, registry.Model{ID: "fp-base", Provider: "fp-one", BaseModel: "fp-base"})
	ensure(t, registry.Model{ID: "fp-two-base", Provider: "fp-two", BaseModel: "fp-base"})
	ensure(t, registry.Model{ID: "fp-two-base-2024", Provider: "fp-two", BaseModel: "fp-base"})
	m, ok := registry.ForProvider("fp-two", "fp-base")
	require.True(t, ok)
	assert.Equal(t, "fp-two-base", m.ID, "shortest ID wins")
	_, ok = registry.ForProvider("fp-three", "fp-base")
	assert.False(t, ok)
}

// TestTwinPrefersTheCatalog: a model a program registers for a provider
// and base model never takes over from the provider's catalog entry, even
// with a shorter ID (issue 16, item 12: the shortest ID used to win).
func TestTwinPrefersTheCatalog(t *testing.T) {
	if !registry.IsCatalog("tw-catalog-entry") {
		require.NoError(t, registry.RegisterCatalog(registry.Model{ID: "tw-catalog-entry", Provider: "tw-p", BaseModel: "tw-base"}))
	}
	ensure(t, registry.Model{ID: "tw-x", Provider: "tw-p", BaseModel: "tw-base"})
	ensure(t, registry.Model{ID: "tw-y", Provider: "tw-p", BaseModel: "tw-base"})
	m, err := registry.Twin("tw-p", "tw-base")
	require.NoError(t, err)
	assert.Equal(t, "tw-catalog-entry", m.ID, "the catalog entry, not the shortest ID")
	m, ok := registry.ForProvider("tw-p", "tw-base")
	require.True(t, ok)
	assert.Equal(t, "tw-catalog-entry", m.ID)
	assert.True(t, registry.IsCatalog("tw-catalog-entry"))
	assert.False(t, registry.IsCatalog("tw-x"))

	// Without a catalog entry: one match is the twin, several are an
	// error that names them (no silent pick).
	ensure(t, registry.Model{ID: "tw-only", Provider: "tw-q", BaseModel: "tw-base"})
	m, err = registry.Twin("tw-q", "tw-base")
	require.NoError(t, err)
	assert.Equal(t, "tw-only", m.ID)
	ensure(t, registry.Model{ID: "tw-r1", Provider: "tw-r", BaseModel: "tw-base"})
	ensure(t, registry.Model{ID: "tw-r2", Provider: "tw-r", BaseModel: "tw-base"})
	_, err = registry.Twin("tw-r", "tw-base")
	require.ErrorIs(t, err, registry.ErrAmbiguous)
	assert.ErrorContains(t, err, `"tw-r1", "tw-r2"`)
	_, err = registry.Twin("tw-none", "tw-base")
	assert.ErrorIs(t, err, registry.ErrNotFound)
}

func TestCost(t *testing.T) {
	m := registry.Model{InputCost: 2.5, CachedInputCost: 1.25, OutputCost: 10}
	// 1M input of which 400k cached, 100k output
	assert.InDelta(t, 0.6*2.5+0.4*1.25+0.1*10, m.Cost(1_000_000, 400_000, 100_000), 1e-9)
	noCached := registry.Model{InputCost: 2, OutputCost: 8}
	assert.InDelta(t, 2.0, noCached.Cost(1_000_000, 500_000, 0), 1e-9, "no cached price: cached tokens at input price")
	assert.InDelta(t, 0, m.Cost(-5, 10, -1), 1e-12, "negative counts are clamped")
	assert.InDelta(t, m.Cost(1000, 0, 500), m.MaxCost(1000, 500), 1e-12)
}

func TestConcurrentRegisterAndLookup(t *testing.T) {
	prefix := fmt.Sprintf("conc-%d-", runs.Add(1))
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Add(2)
		go func() {
			defer wg.Done()
			assert.NoError(t, registry.Register(registry.Model{ID: fmt.Sprintf("%s%d", prefix, i), Provider: "openai"}))
		}()
		go func() {
			defer wg.Done()
			_ = registry.Models()
			_, _ = registry.Lookup(prefix + "0")
		}()
	}
	wg.Wait()
	for i := range 50 {
		_, err := registry.Lookup(fmt.Sprintf("%s%d", prefix, i))
		assert.NoError(t, err)
	}
}

func TestModelCloneCopiesRegions(t *testing.T) {
	m := registry.Model{ID: "x", Regions: map[string]float64{"eastus": 1}}
	c := m.Clone()
	c.Regions["eastus"] = 2
	c.Regions["westus"] = 1
	if len(m.Regions) != 1 || m.Regions["eastus"] != 1 {
		t.Errorf("changing the clone changed the original: %v", m.Regions)
	}
}

func TestCostWithCacheWrites(t *testing.T) {
	m := registry.Model{InputCost: 5, CachedInputCost: 0.5, CacheWriteCost: 6.25, OutputCost: 25}
	assert.InDelta(t, m.Cost(1000, 100, 10), m.CostWithCacheWrites(1000, 100, 0, 10), 1e-12)
	// 400 fresh, 100 read, 500 written, 10 out.
	assert.InDelta(t, (400*5+100*0.5+500*6.25+10*25)/1e6, m.CostWithCacheWrites(1000, 100, 500, 10), 1e-12)
	// Writes cannot exceed what is left of the prompt; no write price means the input price.
	assert.InDelta(t, (100*0.5+900*6.25)/1e6, m.CostWithCacheWrites(1000, 100, 5000, 0), 1e-12)
	m.CacheWriteCost = 0
	assert.InDelta(t, (900*5+100*0.5)/1e6, m.CostWithCacheWrites(1000, 100, 900, 0), 1e-12)
}

func TestRegisterAnthropicSpecAndWritePrice(t *testing.T) {
	require.NoError(t, registry.Register(registry.Model{ID: "reg-anthropic-1", Provider: "anthropic", APISpec: registry.APISpecAnthropicMessages}))
	err := registry.Register(registry.Model{ID: "reg-anthropic-2", Provider: "anthropic", CacheWriteCost: -1})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "CacheWriteCost")
}

func TestAddCatalogLeavesTakenIDs(t *testing.T) {
	n := runs.Add(1)
	mine := registry.Model{ID: fmt.Sprintf("ac-taken-%d", n), Provider: "ac-p", InputCost: 9}
	require.NoError(t, registry.Register(mine))
	fresh := registry.Model{ID: fmt.Sprintf("ac-fresh-%d", n), Provider: "ac-p", InputCost: 1}
	registry.AddCatalog(registry.Model{ID: mine.ID, Provider: "ac-p", InputCost: 1}, fresh)

	got, err := registry.Lookup(mine.ID)
	require.NoError(t, err)
	assert.Equal(t, 9.0, got.InputCost, "the entry registered first wins")
	assert.False(t, registry.IsCatalog(mine.ID))
	assert.True(t, registry.IsCatalog(fresh.ID))

	assert.Panics(t, func() { registry.AddCatalog(registry.Model{ID: fmt.Sprintf("ac-bad-%d", n)}) }, "no provider: a bug of the catalog")
}
