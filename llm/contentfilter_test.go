package llm_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/deluge-go/deluge/llm"
)

func TestContentFilterWireShapes(t *testing.T) {
	in := `{
	  "hate":{"filtered":false,"severity":"safe"},
	  "violence":{"filtered":true,"severity":"medium"},
	  "profanity":{"filtered":false,"detected":true},
	  "protected_material_code":{"filtered":true,"detected":true,"citation":{"URL":"https://github.com/x/y","license":"MIT"}},
	  "custom_blocklists":[{"filtered":true,"id":"MyList"},{"filtered":false,"id":"Other"}],
	  "error":{"code":"content_filter_error","message":"The contents are not filtered"}
	}`
	var c llm.ContentFilterResults
	require.NoError(t, json.Unmarshal([]byte(in), &c))
	assert.Equal(t, "medium", c.Violence.Severity)
	assert.True(t, c.Profanity.Detected)
	assert.Equal(t, "MIT", c.ProtectedMaterialCode.Citation.License)
	assert.Equal(t, "content_filter_error", c.Error.Code)
	assert.Equal(t, []string{"violence (medium)", "protected_material_code", `custom blocklist "MyList"`}, c.Fired())
	assert.True(t, c.Filtered())
	assert.Equal(t, `violence (medium), protected_material_code, custom blocklist "MyList"`, c.String())

	var obj llm.ContentFilterResults
	require.NoError(t, json.Unmarshal([]byte(`{"custom_blocklists":{"filtered":true,"details":[{"filtered":true,"id":"B"}]}}`), &obj))
	assert.Equal(t, []llm.BlocklistResult{{ID: "B", Filtered: true}}, obj.CustomBlocklists)

	var bad llm.ContentFilterResults
	assert.Error(t, json.Unmarshal([]byte(`{"custom_blocklists":"yes"}`), &bad))

	var none *llm.ContentFilterResults
	assert.False(t, none.Filtered())
	assert.Equal(t, "no category filtered", none.String())
}

func TestContentFilterRoundTrip(t *testing.T) {
	c := llm.ContentFilterResults{PromptIndex: 1, Sexual: &llm.SeverityResult{Severity: "safe"}, Jailbreak: &llm.DetectionResult{}}
	data, err := json.Marshal(c)
	require.NoError(t, err)
	var back llm.ContentFilterResults
	require.NoError(t, json.Unmarshal(data, &back))
	assert.Equal(t, c, back)
}
