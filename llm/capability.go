package llm

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/deluge-go/deluge/conversation"
	"github.com/deluge-go/deluge/registry"
)

// checkCapabilities refuses, before anything is sent, a request the model
// cannot take: an image for a model without image input. For a model of a
// provider's catalog the registry knows, and the call fails with
// CodeInvalidRequest naming the model (the server would refuse it anyway,
// after the wait and the bill of a round trip). A model the program
// registered, or one the registry does not know (WithProviderInstance),
// may just not say: the request goes out, with a warning logged once per
// model.
func (c *Client) checkCapabilities(ctx context.Context, m *registry.Model, msgs []conversation.Message) error {
	if m.SupportsImages || !hasImage(msgs) {
		return nil
	}
	if registry.IsCatalog(m.ID) {
		return &Error{Code: CodeInvalidRequest, Provider: m.Provider, Model: m.ID,
			Message: fmt.Sprintf("model %s does not accept images (registry.Model.SupportsImages is false), and the conversation has one; nothing was sent: "+
				"use a model with image input (deluge models lists them under \"images\"), or, if your deployment does accept images, register it under an ID of your own with SupportsImages set", m.ID)}
	}
	if _, warned := c.imageWarned.LoadOrStore(m.ID, true); !warned {
		c.logger().LogAttrs(ctx, slog.LevelWarn, "llm: sending an image to a model not marked as accepting images (registry.Model.SupportsImages); the server may refuse it",
			slog.String("model", m.ID))
	}
	return nil
}

// hasImage reports whether a message of msgs holds an image.
func hasImage(msgs []conversation.Message) bool {
	for i := range msgs {
		for j := range msgs[i].Parts {
			if msgs[i].Parts[j].Type == conversation.PartImage {
				return true
			}
		}
	}
	return false
}
