package azuretest

import (
	"bytes"
	"encoding/json"
	"slices"
	"strconv"
)

// schema is the subset of JSON Schema the generator reads.
type schema struct {
	Type       json.RawMessage            `json:"type"`
	Properties map[string]json.RawMessage `json:"properties"`
	Items      json.RawMessage            `json:"items"`
	Enum       []json.RawMessage          `json:"enum"`
	Const      json.RawMessage            `json:"const"`
	Minimum    *float64                   `json:"minimum"`
	AnyOf      []json.RawMessage          `json:"anyOf"`
	OneOf      []json.RawMessage          `json:"oneOf"`
}

// appendFromSchema appends a JSON value satisfying raw: const or the first
// enum value if given; else by type: object → every property (sorted by
// name), string → "example", integer/number → minimum or 1, boolean → true,
// array → one item, null → null; anyOf/oneOf → the first branch. A missing
// schema yields {}.
func appendFromSchema(b []byte, raw json.RawMessage, depth int) []byte {
	var s schema
	if !present(raw) || depth > 16 || json.Unmarshal(raw, &s) != nil {
		return append(b, "{}"...)
	}
	if present(s.Const) {
		return appendCompact(b, s.Const)
	}
	if len(s.Enum) > 0 {
		return appendCompact(b, s.Enum[0])
	}
	if branches := append(s.AnyOf, s.OneOf...); len(branches) > 0 {
		return appendFromSchema(b, branches[0], depth+1)
	}
	typ := schemaType(s.Type)
	if typ == "" && s.Properties != nil {
		typ = "object"
	}
	switch typ {
	case "string":
		return append(b, `"example"`...)
	case "integer":
		if s.Minimum != nil {
			return strconv.AppendInt(b, int64(*s.Minimum), 10)
		}
		return append(b, '1')
	case "number":
		if s.Minimum != nil {
			return strconv.AppendFloat(b, *s.Minimum, 'g', -1, 64)
		}
		return append(b, '1')
	case "boolean":
		return append(b, "true"...)
	case "null":
		return append(b, "null"...)
	case "array":
		b = append(b, '[')
		if present(s.Items) {
			b = appendFromSchema(b, s.Items, depth+1)
		}
		return append(b, ']')
	default: // object or unknown
		b = append(b, '{')
		names := make([]string, 0, len(s.Properties))
		for name := range s.Properties {
			names = append(names, name)
		}
		slices.Sort(names)
		for i, name := range names {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, name)
			b = append(b, ':')
			b = appendFromSchema(b, s.Properties[name], depth+1)
		}
		return append(b, '}')
	}
}

// schemaType reads "type", which may be a string or an array of strings
// (the first non-"null" one wins).
func schemaType(raw json.RawMessage) string {
	if !present(raw) {
		return ""
	}
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return one
	}
	var many []string
	if json.Unmarshal(raw, &many) == nil {
		for _, t := range many {
			if t != "null" {
				return t
			}
		}
		if len(many) > 0 {
			return many[0]
		}
	}
	return ""
}

func appendCompact(b []byte, raw json.RawMessage) []byte {
	var buf bytes.Buffer
	if json.Compact(&buf, raw) != nil {
		return append(b, "null"...)
	}
	return append(b, buf.Bytes()...)
}
