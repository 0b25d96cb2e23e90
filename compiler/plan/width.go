package plan

import "fmt"

// eachMask calls f with every mask of t: the gate's, the defaults and
// every table entry's.
func (t *Tables) eachMask(f func(*Mask)) {
	for _, m := range []map[int]Mask{t.Gate} {
		for k, v := range m {
			f(&v)
			m[k] = v
		}
	}
	for _, m := range []map[string]Mask{t.Comm, t.PathExact, t.PathPrefix, t.ExeExact, t.ExePrefix, t.Suffix} {
		for k, v := range m {
			f(&v)
			m[k] = v
		}
	}
	for _, m := range []map[uint32]Mask{t.UID, t.Arg0} {
		for k, v := range m {
			f(&v)
			m[k] = v
		}
	}
	for k, v := range t.Sock {
		f(&v)
		t.Sock[k] = v
	}
	for k, v := range t.SockFamily {
		f(&v)
		t.SockFamily[k] = v
	}
	for _, p := range []*Mask{
		&t.CommDefault, &t.UIDDefault, &t.ContainerHost, &t.ContainerInside, &t.ContainerUnknown,
		&t.PathDefault, &t.PathUnknown, &t.SockDefault, &t.SockUnknown, &t.Arg0Default,
		&t.ExeDefault, &t.ExeUnknown, &t.SuffixDefault, &t.SuffixUnknown,
	} {
		f(p)
	}
	for i := range t.OpenFlags {
		f(&t.OpenFlags[i])
	}
}

// FoldWords returns t with masks of words words, for a kernel whose mask
// is narrower than t's (it was loaded for other rules): bit b becomes bit
// b mod 64*words in every mask. Sound: clauses that share a bit pass
// wherever one of them would, so the kernel keeps every event it kept
// (it narrows less). t itself is returned when it fits.
func (t *Tables) FoldWords(words int) (*Tables, error) {
	if words < MaskHeadWords || words > MaskWordsMax || words%MaskHeadWords != 0 {
		return nil, fmt.Errorf("%w: a mask of %d words", ErrInvalidTables, words)
	}
	if t.MaskWords() <= words {
		return t, nil
	}
	out := *t
	out.Words = words
	out.Gate = cloneMap(t.Gate)
	out.Comm, out.PathExact, out.PathPrefix = cloneMap(t.Comm), cloneMap(t.PathExact), cloneMap(t.PathPrefix)
	out.ExeExact, out.ExePrefix, out.Suffix = cloneMap(t.ExeExact), cloneMap(t.ExePrefix), cloneMap(t.Suffix)
	out.UID, out.Arg0, out.Sock, out.SockFamily = cloneMap(t.UID), cloneMap(t.Arg0), cloneMap(t.Sock), cloneMap(t.SockFamily)
	out.eachMask(func(m *Mask) { *m = m.Fold(words) })
	return &out, nil
}

// Fold returns m with bit b moved to bit b mod 64*words, as
// [Tables.FoldWords] moves it: a rule's clause bits for tables folded so.
func (m Mask) Fold(words int) Mask {
	if words <= 0 || words >= len(m) {
		return m
	}
	for i := words; i < len(m); i++ {
		m[i%words] |= m[i]
		m[i] = 0
	}
	return m
}

func cloneMap[K comparable](m map[K]Mask) map[K]Mask {
	if m == nil {
		return nil
	}
	out := make(map[K]Mask, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// validWords checks t.Words.
func (t *Tables) validWords() error {
	if w := t.Words; w != 0 && (w < MaskHeadWords || w > MaskWordsMax || w%MaskHeadWords != 0) {
		return fmt.Errorf("%w: mask of %d words: want a multiple of %d from %d to %d", ErrInvalidTables, w, MaskHeadWords, MaskHeadWords, MaskWordsMax)
	}
	return nil
}
