package textdist

import "testing"

func TestDistance(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"", "", 0},
		{"", "abc", 3},
		{"channel", "channel", 0},
		{"chanel", "channel", 1},   // deletion
		{"channnel", "channel", 1}, // insertion
		{"chennel", "channel", 1},  // substitution
		{"chnanel", "channel", 1},  // adjacent transposition
		{"ca", "abc", 3},           // optimal string alignment: no edit of a transposed pair
		{"kitten", "sitting", 3},
		{"prefix", "pan-id", 4},
	}
	for _, tt := range tests {
		if got := Distance(tt.a, tt.b); got != tt.want {
			t.Errorf("Distance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
		if got := Distance(tt.b, tt.a); got != tt.want {
			t.Errorf("Distance(%q, %q) = %d, want %d (symmetric)", tt.b, tt.a, got, tt.want)
		}
	}
}
