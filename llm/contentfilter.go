package llm

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// ContentFilterResults are Azure AI content-safety annotations for a prompt or
// a completion. The JSON form is Azure's wire format, so providers can decode
// content_filter_results (and innererror.content_filter_result) straight into
// it.
//
// The categories are values, not pointers, so that a reply's annotations
// cost one allocation rather than a dozen (a batch keeps every result): a
// category the server did not report is the zero value, which for a
// [SeverityResult] is an empty Severity (see [SeverityResult.Reported]),
// and for a [DetectionResult] reads "not filtered, not detected", what an
// absent one means too.
type ContentFilterResults struct {
	// PromptIndex is the index of the prompt these results belong to (for
	// Response.PromptFilter entries).
	PromptIndex int `json:"prompt_index,omitempty"`

	// The harm categories, graded by severity.
	Hate     SeverityResult `json:"hate,omitzero"`
	SelfHarm SeverityResult `json:"self_harm,omitzero"`
	Sexual   SeverityResult `json:"sexual,omitzero"`
	Violence SeverityResult `json:"violence,omitzero"`

	// The categories detected or not: profanity, prompt attacks (direct
	// and indirect), protected material, ungrounded material.
	Profanity             DetectionResult `json:"profanity,omitzero"`
	Jailbreak             DetectionResult `json:"jailbreak,omitzero"`
	IndirectAttack        DetectionResult `json:"indirect_attack,omitzero"`
	ProtectedMaterialText DetectionResult `json:"protected_material_text,omitzero"`
	ProtectedMaterialCode DetectionResult `json:"protected_material_code,omitzero"`
	UngroundedMaterial    DetectionResult `json:"ungrounded_material,omitzero"`

	// CustomBlocklists lists the customer blocklists that were checked.
	CustomBlocklists BlocklistResults `json:"custom_blocklists,omitempty"`
	// Error is set when the filter itself failed (the content was then not
	// filtered).
	Error *FilterError `json:"error,omitempty"`
}

// IsZero reports whether f holds no annotation at all (nil, or the {}
// Azure sends on a stream's role and finish chunks).
func (f *ContentFilterResults) IsZero() bool {
	return f == nil || (f.PromptIndex == 0 &&
		f.Hate == SeverityResult{} && f.SelfHarm == SeverityResult{} && f.Sexual == SeverityResult{} && f.Violence == SeverityResult{} &&
		f.Profanity.isZero() && f.Jailbreak.isZero() && f.IndirectAttack.isZero() &&
		f.ProtectedMaterialText.isZero() && f.ProtectedMaterialCode.isZero() && f.UngroundedMaterial.isZero() &&
		len(f.CustomBlocklists) == 0 && f.Error == nil)
}

// Clone returns a deep copy of f (nil for nil).
func (f *ContentFilterResults) Clone() *ContentFilterResults {
	if f == nil {
		return nil
	}
	c := *f
	c.Profanity.Citation = clonePtr(f.Profanity.Citation)
	c.Jailbreak.Citation = clonePtr(f.Jailbreak.Citation)
	c.IndirectAttack.Citation = clonePtr(f.IndirectAttack.Citation)
	c.ProtectedMaterialText.Citation = clonePtr(f.ProtectedMaterialText.Citation)
	c.ProtectedMaterialCode.Citation = clonePtr(f.ProtectedMaterialCode.Citation)
	c.UngroundedMaterial.Citation = clonePtr(f.UngroundedMaterial.Citation)
	c.CustomBlocklists = slices.Clone(f.CustomBlocklists)
	c.Error = clonePtr(f.Error)
	return &c
}

// clonePtr returns a pointer to a copy of *p, or nil.
func clonePtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

// SeverityResult is a harm category graded by severity; the zero value is
// a category the server did not report.
type SeverityResult struct {
	// Filtered reports whether the category's filter stopped the content.
	Filtered bool `json:"filtered"`
	// Severity is "safe", "low", "medium" or "high".
	Severity string `json:"severity,omitempty"`
}

// Reported reports whether the server graded the category (Azure always
// sends a severity with it).
func (r SeverityResult) Reported() bool { return r.Severity != "" || r.Filtered }

// DetectionResult is a category that is detected or not; the zero value
// is a category the server did not report, or reported neither filtered
// nor detected.
type DetectionResult struct {
	// Filtered reports whether the filter stopped the content; Detected
	// whether the category was found (annotate-only filters detect
	// without filtering).
	Filtered bool `json:"filtered"`
	Detected bool `json:"detected"`
	// Citation points at the source of detected protected code.
	Citation *Citation `json:"citation,omitempty"`
}

func (d *DetectionResult) isZero() bool { return !d.Filtered && !d.Detected && d.Citation == nil }

// Citation is the source of protected material.
type Citation struct {
	URL     string `json:"URL,omitempty"`     // where the material was found
	License string `json:"license,omitempty"` // its license, as the service names it
}

// BlocklistResult reports one custom blocklist.
type BlocklistResult struct {
	ID       string `json:"id"`       // the blocklist's name
	Filtered bool   `json:"filtered"` // whether it matched and stopped the content
}

// FilterError is the content filter's own failure.
type FilterError struct {
	Code    string `json:"code"`    // the service's error code
	Message string `json:"message"` // its explanation
}

// BlocklistResults is the custom_blocklists annotation. Azure sends it in
// two shapes, and UnmarshalJSON accepts both: the legacy array
// [{"filtered":…,"id":…}] and the newer object
// {"filtered":…,"details":[{"filtered":…,"id":…}]}. An object that says
// filtered without details becomes one entry with an empty ID, so that
// Filtered still reports it. It marshals as the array.
//
// The custom decoding lives on this field rather than on
// [ContentFilterResults] so that encoding/json decodes every annotation in
// the single pass over the reply; a ContentFilterResults.UnmarshalJSON
// would make it scan each annotation three times. A BlocklistResults is
// assignable to and from []BlocklistResult.
type BlocklistResults []BlocklistResult

// UnmarshalJSON implements json.Unmarshaler.
func (b *BlocklistResults) UnmarshalJSON(data []byte) error {
	raw := bytes.TrimSpace(data)
	switch {
	case len(raw) == 0 || string(raw) == "null":
		*b = nil
	case raw[0] == '[':
		var list []BlocklistResult
		if err := json.Unmarshal(raw, &list); err != nil {
			return fmt.Errorf("custom_blocklists: %w", err)
		}
		*b = list
	case raw[0] == '{':
		var obj struct {
			Filtered bool              `json:"filtered"`
			Details  []BlocklistResult `json:"details"`
		}
		if err := json.Unmarshal(raw, &obj); err != nil {
			return fmt.Errorf("custom_blocklists: %w", err)
		}
		*b = obj.Details
		if obj.Filtered && len(obj.Details) == 0 {
			*b = BlocklistResults{{Filtered: true}}
		}
	default:
		return fmt.Errorf("custom_blocklists: want an array or an object, got %.20s", raw)
	}
	return nil
}

// Filtered reports whether any category blocked the content.
func (c *ContentFilterResults) Filtered() bool {
	return c != nil && len(c.Fired()) > 0
}

// Fired lists the categories that blocked the content, with their severity
// where graded, e.g. ["violence (medium)", "custom blocklist \"Profanity\""].
func (c *ContentFilterResults) Fired() []string {
	if c == nil {
		return nil
	}
	var out []string
	for _, s := range []struct {
		name string
		r    *SeverityResult
	}{{"hate", &c.Hate}, {"self_harm", &c.SelfHarm}, {"sexual", &c.Sexual}, {"violence", &c.Violence}} {
		if s.r.Filtered {
			if s.r.Severity != "" {
				out = append(out, s.name+" ("+s.r.Severity+")")
			} else {
				out = append(out, s.name)
			}
		}
	}
	for _, d := range []struct {
		name string
		r    *DetectionResult
	}{{"profanity", &c.Profanity}, {"jailbreak", &c.Jailbreak}, {"indirect_attack", &c.IndirectAttack},
		{"protected_material_text", &c.ProtectedMaterialText}, {"protected_material_code", &c.ProtectedMaterialCode},
		{"ungrounded_material", &c.UngroundedMaterial}} {
		if d.r.Filtered {
			out = append(out, d.name)
		}
	}
	for _, b := range c.CustomBlocklists {
		if b.Filtered {
			if b.ID != "" {
				out = append(out, fmt.Sprintf("custom blocklist %q", b.ID))
			} else {
				out = append(out, "custom blocklist")
			}
		}
	}
	return out
}

// String summarises the categories that fired, e.g. "violence (medium)".
func (c *ContentFilterResults) String() string {
	f := c.Fired()
	if len(f) == 0 {
		return "no category filtered"
	}
	return strings.Join(f, ", ")
}
