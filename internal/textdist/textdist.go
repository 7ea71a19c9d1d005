// Package textdist measures how far apart two names are, for the "did you
// mean" of mistyped flags, configuration keys and environment variables.
package textdist

// Distance is the optimal-string-alignment (restricted Damerau-Levenshtein)
// distance of a and b: an insertion, deletion, substitution or swap of
// adjacent letters each costs one, so that a swapped pair ("chnanel") is
// one slip from "channel", as "chanel" is.
func Distance(a, b string) int {
	// d[i][j] is the distance of a[:i] and b[:j]; three rows suffice.
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}
