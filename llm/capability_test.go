package llm_test

import (
	"bytes"
	"context"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/deluge-go/deluge/conversation"
	"github.com/deluge-go/deluge/llm"
	"github.com/deluge-go/deluge/llm/llmtest"
	"github.com/deluge-go/deluge/registry"
)

func init() {
	registry.MustRegisterCatalog(registry.Model{ID: "cap-text-only", Provider: "cap-provider"})
	registry.MustRegisterCatalog(registry.Model{ID: "cap-vision", Provider: "cap-provider", SupportsImages: true})
	registry.MustRegister(registry.Model{ID: "cap-custom", Provider: "cap-provider"})
}

// TestImageToTextOnlyModel: an image sent to a catalog model without image
// input used to go out without a word (issue 16, item 14); it now fails
// before anything is sent, naming the model. A model the program
// registered may just not say: it is sent, with one warning.
func TestImageToTextOnlyModel(t *testing.T) {
	img := conversation.New().User("what is this?", conversation.ImageData("image/png", []byte{0x89, 'P', 'N', 'G'}))
	p := llmtest.New()
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	client := func(id string) *llm.Client {
		c, err := llm.NewClient(id, llm.WithProviderInstance(p), llm.WithLogger(logger))
		require.NoError(t, err)
		return c
	}

	_, err := client("cap-text-only").Generate(context.Background(), img)
	require.ErrorIs(t, err, llm.ErrInvalidRequest)
	assert.Contains(t, err.Error(), "cap-text-only does not accept images")
	assert.Zero(t, p.Calls(), "nothing was sent")
	_, err = client("cap-text-only").Generate(context.Background(), conversation.New().User("text is fine"))
	require.NoError(t, err)

	_, err = client("cap-vision").Generate(context.Background(), img)
	require.NoError(t, err)

	c := client("cap-custom")
	for range 2 {
		_, err = c.Generate(context.Background(), img)
		require.NoError(t, err, "a program's own model is not second-guessed")
	}
	assert.Equal(t, 1, bytes.Count(logs.Bytes(), []byte("not marked as accepting images")), "warned once:\n%s", logs.String())
}
