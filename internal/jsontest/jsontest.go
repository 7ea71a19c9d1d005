// Package jsontest holds the checks the tests make of the JSON the
// project serves (the status API, the CLI's --json, the web page).
package jsontest

import "regexp"

// SnakeCase matches a JSON name of the project's schemas: lower-case
// words joined by underscores.
var SnakeCase = regexp.MustCompile(`^[a-z][a-z0-9]*(_[a-z0-9]+)*$`)

// NotSnakeCase lists, with their paths from path, the object keys at any
// depth of decoded JSON v (map[string]any, []any) that are not SnakeCase.
func NotSnakeCase(v any, path string) []string {
	var out []string
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if !SnakeCase.MatchString(k) {
				out = append(out, path+"."+k)
			}
			out = append(out, NotSnakeCase(e, path+"."+k)...)
		}
	case []any:
		for _, e := range x {
			out = append(out, NotSnakeCase(e, path+"[]")...)
		}
	}
	return out
}
