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
	assert.Equal(t, llm.BlocklistResults{{ID: "B", Filtered: true}}, obj.CustomBlocklists)

	var bad llm.ContentFilterResults
	assert.Error(t, json.Unmarshal([]byte(`{"custom_blocklists":"yes"}`), &bad))

	var none *llm.ContentFilterResults
	assert.False(t, none.Filtered())
	assert.Equal(t, "no category filtered", none.String())
}

func TestContentFilterRoundTrip(t *testing.T) {
	c := llm.ContentFilterResults{PromptIndex: 1, Sexual: llm.SeverityResult{Severity: "safe"}, Jailbreak: llm.DetectionResult{}}
	data, err := json.Marshal(c)
	require.NoError(t, err)
	var back llm.ContentFilterResults
	require.NoError(t, json.Unmarshal(data, &back))
	assert.Equal(t, c, back)
}

// TestBlocklistResultsShapes: custom_blocklists decodes from every shape
// Azure sends, also where the annotation is a field of a larger reply
// (decoded in encoding/json's single pass), and marshals as the array.
func TestBlocklistResultsShapes(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     llm.BlocklistResults
	}{
		{"array", `[{"filtered":true,"id":"A"},{"filtered":false,"id":"B"}]`, llm.BlocklistResults{{ID: "A", Filtered: true}, {ID: "B"}}},
		{"empty array", `[]`, llm.BlocklistResults{}},
		{"object", `{"filtered":false,"details":[{"filtered":false,"id":"A"}]}`, llm.BlocklistResults{{ID: "A"}}},
		{"object filtered without details", `{"filtered":true}`, llm.BlocklistResults{{Filtered: true}}},
		{"object filtered, empty details", `{"filtered":true,"details":[]}`, llm.BlocklistResults{{Filtered: true}}},
		{"object not filtered", `{"filtered":false,"details":[]}`, llm.BlocklistResults{}},
		{"null", `null`, nil},
		{"white space", " \n [ {\"filtered\":true,\"id\":\"A\"} ] ", llm.BlocklistResults{{ID: "A", Filtered: true}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var reply struct {
				Choices []struct {
					ContentFilterResults *llm.ContentFilterResults `json:"content_filter_results"`
				} `json:"choices"`
			}
			in := `{"choices":[{"content_filter_results":{"hate":{"filtered":false,"severity":"safe"},"custom_blocklists":` + tc.in + `}}]}`
			require.NoError(t, json.Unmarshal([]byte(in), &reply))
			c := reply.Choices[0].ContentFilterResults
			require.NotNil(t, c)
			assert.Equal(t, "safe", c.Hate.Severity)
			assert.Equal(t, len(tc.want), len(c.CustomBlocklists))
			if len(tc.want) > 0 {
				assert.Equal(t, tc.want, c.CustomBlocklists)
			}
		})
	}
	for _, bad := range []string{`"yes"`, `1`, `true`, `[1]`, `{"details":"x"}`} {
		var c llm.ContentFilterResults
		assert.Error(t, json.Unmarshal([]byte(`{"custom_blocklists":`+bad+`}`), &c), bad)
	}

	out, err := json.Marshal(llm.ContentFilterResults{CustomBlocklists: llm.BlocklistResults{{ID: "A", Filtered: true}}})
	require.NoError(t, err)
	assert.JSONEq(t, `{"custom_blocklists":[{"id":"A","filtered":true}]}`, string(out))
	var plain []llm.BlocklistResult = llm.BlocklistResults{{ID: "A"}}
	assert.Len(t, plain, 1, "assignable to []BlocklistResult")
}

func TestContentFilterZeroAndReported(t *testing.T) {
	var none *llm.ContentFilterResults
	assert.True(t, none.IsZero())
	var empty llm.ContentFilterResults
	require.NoError(t, json.Unmarshal([]byte(`{}`), &empty), "Azure's annotation of a role chunk")
	assert.True(t, empty.IsZero())

	var f llm.ContentFilterResults
	require.NoError(t, json.Unmarshal([]byte(`{"hate":{"filtered":false,"severity":"safe"},"jailbreak":{"filtered":false,"detected":false}}`), &f))
	assert.False(t, f.IsZero())
	assert.True(t, f.Hate.Reported())
	assert.False(t, f.Violence.Reported(), "not in the reply")
	assert.Equal(t, llm.DetectionResult{}, f.Jailbreak, "neither filtered nor detected: the zero value")
	out, err := json.Marshal(f)
	require.NoError(t, err)
	assert.JSONEq(t, `{"hate":{"filtered":false,"severity":"safe"}}`, string(out), "zero categories are left out")

	c := llm.ContentFilterResults{ProtectedMaterialCode: llm.DetectionResult{Detected: true, Citation: &llm.Citation{URL: "u"}}}
	cp := c.Clone()
	cp.ProtectedMaterialCode.Citation.URL = "changed"
	assert.Equal(t, "u", c.ProtectedMaterialCode.Citation.URL, "Clone copies the citation")
}
