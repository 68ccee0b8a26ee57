package main

import (
	"bytes"
	"encoding/json"
	"os"
	"reflect"

	"github.com/deluge-go/deluge/registry"
)

// envModelsFile names the models file when --models-file is not given.
const envModelsFile = "DELUGE_MODELS_FILE"

// loadModelsFile registers the models of a JSON file: an array of
// registry.Model objects, the form 'deluge models --json' prints. It is how
// a CLI user adds a fine-tuned deployment, a custom model or a router of
// their own, with its prices. A model already registered with the same
// fields is left alone (a file read twice); one that differs is an error,
// as is an unknown field.
func loadModelsFile(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, usageErrorf("models file: %v", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var models []registry.Model
	if err := dec.Decode(&models); err != nil {
		return 0, usageErrorf("models file %s: %v (want a JSON array of models, as 'deluge models --json' prints)", path, err)
	}
	for i, m := range models {
		if m.Name == "" {
			m.Name = m.ID
		}
		if prev, err := registry.Lookup(m.ID); err == nil {
			if reflect.DeepEqual(prev, m) {
				continue
			}
			return i, usageErrorf("models file %s: model %d: %q is already registered (a catalog model?) with other fields; choose another ID", path, i, m.ID)
		}
		if err := registry.Register(m); err != nil {
			return i, usageErrorf("models file %s: model %d: %v", path, i, err)
		}
	}
	return len(models), nil
}

// modelsFile returns the models file to load: the flag, else the
// environment variable.
func (a *app) modelsFile() string {
	if a.flags.modelsFile != "" {
		return a.flags.modelsFile
	}
	return a.env.getenv(envModelsFile)
}
