package nd

// TIDOrder is the outcome of comparing two transaction IDs.
type TIDOrder int8

const (
	// TIDOlder: the first TID is less recent than the second.
	TIDOlder TIDOrder = -1
	// TIDEqual: the same registration transaction.
	TIDEqual TIDOrder = 0
	// TIDNewer: the first TID is more recent.
	TIDNewer TIDOrder = 1
	// TIDNotComparable: the two are too far apart to be ordered (RFC 8505
	// §5.2.1 rule 3.2.2: a desynchronisation).
	TIDNotComparable TIDOrder = 2
)

// SequenceWindow is SEQUENCE_WINDOW of RFC 8505 §5.2.1 (2^4).
const SequenceWindow = 16

// TIDInitial is the value RFC 8505 §5.2.1 recommends to start a TID at
// (256 − SEQUENCE_WINDOW), in the linear region.
const TIDInitial = 240

// CompareTID orders TID a against TID b with the lollipop comparison of RFC
// 8505 §5.2.1 (the RPL path sequence of RFC 6550 §7.2): values 128–255 are
// a linear region a counter starts in after a reboot, values 0–127 a
// circular space of size 128.
//
//   - a in 128–255 and b in 0–127 (or the reverse): b is newer when
//     256 + b − a ≤ SEQUENCE_WINDOW (the counter left the linear region
//     for the circle), otherwise a is newer (a restart).
//   - both in the same region: within SEQUENCE_WINDOW of each other they
//     compare as serial numbers (RFC 1982), otherwise they are not
//     comparable. In the circular region the distance is taken modulo 128,
//     so 127 → 0 is one step, as RFC 1982 arithmetic on a 7-bit space has
//     it; in the linear region there is no wrap (255 goes on to 0, which
//     the first rule covers).
func CompareTID(a, b uint8) TIDOrder {
	if a == b {
		return TIDEqual
	}
	aLin, bLin := a >= 128, b >= 128
	switch {
	case aLin && !bLin:
		if 256+int(b)-int(a) <= SequenceWindow {
			return TIDOlder
		}
		return TIDNewer
	case !aLin && bLin:
		if 256+int(a)-int(b) <= SequenceWindow {
			return TIDNewer
		}
		return TIDOlder
	case aLin: // both linear
		d := int(a) - int(b)
		switch {
		case d > 0 && d <= SequenceWindow:
			return TIDNewer
		case d < 0 && -d <= SequenceWindow:
			return TIDOlder
		}
		return TIDNotComparable
	}
	// Both circular: distance from b to a modulo 128.
	d := (int(a) - int(b)) & 127
	switch {
	case d <= SequenceWindow:
		return TIDNewer
	case d >= 128-SequenceWindow:
		return TIDOlder
	}
	return TIDNotComparable
}

// NextTID returns the TID following t (RFC 8505 §5.2.1 rule 2): 255 wraps
// to 0 and 127 wraps to 0, so a counter leaves the linear region once and
// then stays on the circle.
func NextTID(t uint8) uint8 {
	if t == 255 || t == 127 {
		return 0
	}
	return t + 1
}
