package examples_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/deluge-go/deluge/conversation"
	"github.com/deluge-go/deluge/examples"
)

func TestPromptsAreValid(t *testing.T) {
	sc := bufio.NewScanner(bytes.NewReader(examples.Prompts))
	ids := map[string]bool{}
	for sc.Scan() {
		var line struct {
			ID       string          `json:"id"`
			Prompt   string          `json:"prompt"`
			Messages json.RawMessage `json:"messages"`
		}
		require.NoError(t, json.Unmarshal(sc.Bytes(), &line), sc.Text())
		require.NotEmpty(t, line.ID)
		assert.False(t, ids[line.ID], "duplicate id %s", line.ID)
		ids[line.ID] = true
		if line.Messages != nil {
			var c conversation.Conversation
			require.NoError(t, json.Unmarshal(line.Messages, &c), line.ID)
			require.NoError(t, c.Validate(), line.ID)
		} else {
			assert.NotEmpty(t, line.Prompt, line.ID)
		}
	}
	require.NoError(t, sc.Err())
	assert.Len(t, ids, 200)
}
