package library

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// Object is a JSON object that keeps its keys in the order they were read
// (a package.json as its author wrote it), with the values left as raw
// JSON. Marshalling it gives the same bytes for the same object.
type Object struct {
	keys []string
	vals map[string]json.RawMessage
}

// ParseObject reads a JSON object. Duplicate keys keep the last value at
// the first key's place, as JSON.parse does.
func ParseObject(data []byte) (*Object, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, errors.New("not a JSON object")
	}
	o := &Object{vals: map[string]json.RawMessage{}}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key, ok := tok.(string)
		if !ok {
			return nil, fmt.Errorf("a key is %v, not a string", tok)
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		o.Set(key, v)
	}
	if _, err := dec.Token(); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err == nil {
		return nil, errors.New("unexpected data after the JSON object")
	}
	return o, nil
}

// Keys returns the keys in order.
func (o *Object) Keys() []string { return append([]string(nil), o.keys...) }

// Has reports whether key is set.
func (o *Object) Has(key string) bool {
	_, ok := o.vals[key]
	return ok
}

// Raw returns key's value as raw JSON.
func (o *Object) Raw(key string) (json.RawMessage, bool) {
	v, ok := o.vals[key]
	return v, ok
}

// String returns key's value when it is a JSON string.
func (o *Object) String(key string) (string, bool) {
	var s string
	v, ok := o.vals[key]
	if !ok || json.Unmarshal(v, &s) != nil {
		return "", false
	}
	return s, true
}

// Object returns key's value when it is a JSON object.
func (o *Object) Object(key string) (*Object, bool) {
	v, ok := o.vals[key]
	if !ok {
		return nil, false
	}
	sub, err := ParseObject(v)
	return sub, err == nil
}

// Set sets key to the raw JSON v: in its place when key is set, else at
// the end.
func (o *Object) Set(key string, v json.RawMessage) {
	if _, ok := o.vals[key]; !ok {
		o.keys = append(o.keys, key)
	}
	o.vals[key] = append(json.RawMessage(nil), v...)
}

// SetValue sets key to v marshalled as JSON.
func (o *Object) SetValue(key string, v any) {
	data, err := marshal(v)
	if err != nil {
		panic(fmt.Sprintf("library: marshal %T: %v", v, err))
	}
	o.Set(key, data)
}

// Delete removes key.
func (o *Object) Delete(key string) {
	if _, ok := o.vals[key]; !ok {
		return
	}
	delete(o.vals, key)
	for i, k := range o.keys {
		if k == key {
			o.keys = append(o.keys[:i], o.keys[i+1:]...)
			break
		}
	}
}

// Len is the number of keys.
func (o *Object) Len() int { return len(o.keys) }

// MarshalJSON writes the object compactly, keys in order.
func (o *Object) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range o.keys {
		if i > 0 {
			b.WriteByte(',')
		}
		kb, err := marshal(k)
		if err != nil {
			return nil, err
		}
		b.Write(kb)
		b.WriteByte(':')
		b.Write(o.vals[k])
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// Indented is the object as a package.json file: two-space indentation,
// a final newline, and <, > and & left as they are.
func (o *Object) Indented() ([]byte, error) {
	compact, err := o.MarshalJSON()
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if err := json.Indent(&b, compact, "", "  "); err != nil {
		return nil, err
	}
	b.WriteByte('\n')
	return b.Bytes(), nil
}

// marshal is json.Marshal without HTML escaping.
func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}
