package llm_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/deluge-go/deluge/llm"
)

// runs numbers each run of a test so that its global registrations stay
// fresh under -count=N.
var runs atomic.Int32

func fresh(name string) string { return fmt.Sprintf("%s-%d", name, runs.Add(1)) }

func TestRegisterProviderLazyOnce(t *testing.T) {
	var opened atomic.Int32
	lazy := fresh("test-lazy")
	llm.RegisterProvider(lazy, func() (llm.Provider, error) {
		opened.Add(1)
		return llm.ProviderFunc(func(context.Context, *llm.Request) (*llm.Response, error) { return &llm.Response{}, nil }), nil
	})
	assert.Zero(t, opened.Load(), "open must not run at registration")
	assert.Contains(t, llm.Providers(), lazy)
	for range 3 {
		p, err := llm.OpenProvider(lazy)
		require.NoError(t, err)
		require.NotNil(t, p)
	}
	assert.EqualValues(t, 1, opened.Load(), "open runs once")
}

func TestOpenProviderErrorIsSticky(t *testing.T) {
	boom := errors.New("set FOO_API_KEY")
	broken := fresh("test-broken")
	llm.RegisterProvider(broken, func() (llm.Provider, error) { return nil, boom })
	_, err := llm.OpenProvider(broken)
	require.ErrorIs(t, err, boom)
	_, err2 := llm.OpenProvider(broken)
	assert.Equal(t, err.Error(), err2.Error())
}

func TestUnknownProviderSuggestsImport(t *testing.T) {
	_, err := llm.OpenProvider("azure-foundry-nope")
	require.Error(t, err)
	assert.Contains(t, err.Error(), `forgotten import of "github.com/deluge-go/deluge/providers/azurefoundrynope"?`)
}

func TestRegisterProviderPanics(t *testing.T) {
	open := func() (llm.Provider, error) { return nil, nil }
	dup := fresh("test-dup")
	llm.RegisterProvider(dup, open)
	assert.Panics(t, func() { llm.RegisterProvider(dup, open) })
	assert.Panics(t, func() { llm.RegisterProvider("test-nil", nil) })
	assert.Panics(t, func() { llm.RegisterProvider("", open) })
}
