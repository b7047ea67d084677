package segment

import (
	"regexp"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Hand-written lists (English conventions; not copied from any treebank).

// abbrevs are words that keep their final period. Lower-case entries also
// match when capitalized at the start of a sentence ("Etc.").
var abbrevs = setOf(
	// titles and ranks
	"Mr", "Mrs", "Ms", "Messrs", "Mssrs", "Dr", "Prof", "St", "Sr", "Jr", "Gen", "Col", "Lt", "Sgt",
	"Capt", "Cmdr", "Adm", "Maj", "Gov", "Sen", "Rep", "Reps", "Rev", "Hon", "Pres", "Supt", "Fr",
	"Rt", "Mt", "Ft", "Atty", "Asst", "Assoc", "Insp", "Cpl", "Pvt", "Esq", "Mme", "Mlle", "Ph",
	// companies
	"Inc", "Corp", "Co", "Ltd", "Llc", "Bros", "Cos", "Dept", "Univ", "Assn",
	// months and days
	"Jan", "Feb", "Mar", "Apr", "Jun", "Jul", "Aug", "Sep", "Sept", "Oct", "Nov", "Dec",
	"Mon", "Tue", "Tues", "Wed", "Thu", "Thur", "Thurs", "Fri", "Sat", "Sun",
	// US states
	"Ala", "Ariz", "Ark", "Calif", "Colo", "Conn", "Del", "Fla", "Ga", "Ill", "Ind", "Kan", "Kans",
	"Ky", "La", "Md", "Mass", "Mich", "Minn", "Miss", "Mo", "Mont", "Neb", "Nebr", "Nev", "Okla",
	"Ore", "Pa", "Penn", "Tenn", "Tex", "Va", "Vt", "Wash", "Wis", "Wisc", "Wyo", "Que", "Ont",
	// numbering and references
	"No", "Nos", "Vol", "Vols", "Fig", "Figs", "Ch", "Chap", "Sec", "Art", "Para",
	// lower-case abbreviations
	"etc", "vs", "viz", "approx", "cf", "esp", "incl", "info", "min", "mins", "max", "misc",
	"lb", "lbs", "oz", "ft", "yr", "yrs", "hr", "hrs", "sq", "ext", "tel", "fax", "attn", "ave",
	"blvd", "rd", "hwy", "apt", "dept", "govt", "intl", "natl", "ref", "refs", "sec", "secs",
	"pt", "pts", "pp", "eds", "ca", "al", "seq", "cont", "est", "eve", "rec", "dom", "mob",
	"spec", "conf", "arrv", "lv",
)

// titles never end a sentence: the name that follows belongs to them.
var titles = setOf("Mr", "Mrs", "Ms", "Messrs", "Mssrs", "Dr", "Prof", "St", "Gen", "Col", "Lt",
	"Sgt", "Capt", "Cmdr", "Adm", "Maj", "Gov", "Sen", "Rep", "Reps", "Rev", "Hon", "Pres",
	"Supt", "Fr", "Rt", "Mt", "Ft", "Atty", "Insp", "Cpl", "Pvt", "Mme", "Mlle", "No", "Nos",
	"Vol", "Fig", "Ch", "Sec", "Art", "vs", "cf")

// sentenceStarters are capitalized words that, after an abbreviation,
// suggest a new sentence ("... Inc. The company ...").
var sentenceStarters = setOf("The", "I", "We", "He", "She", "It", "They", "This", "That", "There",
	"These", "Those", "But", "And", "So", "If", "In", "A", "An", "My", "You", "What", "When",
	"How", "Why", "Where", "Who", "Please", "Thanks", "Also", "However", "Our", "Their", "His",
	"Her", "Its", "As", "At", "For", "On", "Then", "Now", "Yes", "No", "Not", "All", "Some",
	"One", "Is", "Are", "Was", "Do", "Did", "Does", "Can", "Will", "Would", "Should", "Let",
	"Thank", "Hope", "Just", "After", "Before", "While", "Since", "Although", "Even", "Here")

// keptPrefix are the first parts of hyphenated words that stay one token.
var keptPrefix = setOf("e", "non", "pre", "post", "co", "mid", "semi", "re", "ex", "anti",
	"multi", "inter", "intra", "pro", "sub", "super", "un", "de", "bi", "tri", "uni", "micro",
	"macro", "mini", "over", "under", "counter", "neo", "quasi", "ultra", "trans", "pseudo",
	"cyber", "mega", "vice", "x", "t", "u", "a", "o", "k", "b", "c", "f", "g", "j", "l", "n",
	"p", "r", "s", "v", "w", "y", "z", "i", "h", "m", "q", "d")

// keptSuffix are second parts of hyphenated words that stay one token.
var keptSuffix = setOf()

// keptSlash are slashed words that stay one token.
var keptSlash = setOf("w/o", "a/c", "l/c", "i/c", "c/o", "b/c", "n/a", "s/he", "o/s", "p/l",
	"w/", "y/n", "f/")

func setOf(xs ...string) map[string]bool {
	m := make(map[string]bool, len(xs))
	for _, x := range xs {
		m[x] = true
	}
	return m
}

// isAbbrev reports whether c, ending in '.', is an abbreviation that keeps
// its period.
func isAbbrev(c string) bool {
	if !strings.HasSuffix(c, ".") || len(c) < 2 {
		return false
	}
	core := c[:len(c)-1]
	if dotted.MatchString(core) {
		return true
	}
	return abbrevWord(core)
}

var dotted = regexp.MustCompile(`^(?:[A-Za-z]{1,2}\.)*[A-Za-z]$|^(?:[A-Za-z]\.)+[A-Za-z]{1,2}$`)

func abbrevWord(core string) bool {
	if abbrevs[core] {
		return true
	}
	r, n := utf8.DecodeRuneInString(core)
	if unicode.IsUpper(r) {
		lower := string(unicode.ToLower(r)) + core[n:]
		if abbrevs[lower] {
			return true
		}
		if len(core) > n && strings.ToUpper(core) == core {
			title := core[:n] + strings.ToLower(core[n:])
			return abbrevs[title]
		}
	}
	return false
}

// abbrevBase returns the abbreviation's word without the period.
func abbrevBase(t string) string { return strings.TrimSuffix(t, ".") }

var (
	urlRe   = regexp.MustCompile(`^(?i:(?:https?|ftp|file|mailto)://|www\d?\.)[^\s]*`)
	emailRe = regexp.MustCompile(`^[A-Za-z0-9._%+'\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+`)
	// domain names, file names, version strings: word.word with no space.
	domainRe = regexp.MustCompile(`^[A-Za-z0-9_\-]+(?:\.[A-Za-z0-9_\-]+)*\.(?i:com|org|net|edu|gov|mil|int|co|uk|us|de|fr|ca|au|jp|info|biz|io|tv|html?|php|aspx?|jsp|cgi|pdf|docx?|xlsx?|pptx?|txt|jpe?g|gif|png|zip|exe|mp3|wav|avi|mpg|ppt|xls|doc)(?:/[^\s]*)?`)
	// numbers: 1,000.50  3.14  5:00  11/28/2000  1st  2nd  10:30am
	numberRe = regexp.MustCompile(`^[+\-]?\d+(?:[.,:/]\d+)+`)
)

// mayURL is a cheap test before urlRe.
func mayURL(c string) bool {
	return strings.Contains(c, "://") || len(c) > 4 && (c[0] == 'w' || c[0] == 'W') && strings.EqualFold(c[:3], "www")
}

// mayDomain is a cheap test before domainRe: a dot followed by a letter.
func mayDomain(c string) bool {
	for i := strings.IndexByte(c, '.'); i >= 0 && i+1 < len(c); {
		if r := c[i+1]; r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' {
			return true
		}
		j := strings.IndexByte(c[i+1:], '.')
		if j < 0 {
			return false
		}
		i += 1 + j
	}
	return false
}

var emoticons = setOf(":)", ":-)", ";)", ";-)", ":(", ":-(", ":D", ":-D", ":P", ":-P", ":p",
	":-p", ":o", ":O", ":/", ":-/", ":|", ":-|", ";D", "=)", "=(", "=D", "^_^", "^^", "<3",
	":'(", "XD", "xD", ":S", ":-S", ";P", ";-P", "8)", "8-)", "B)", ":]", ":[", "o_O", "O_o",
	"-_-", "T_T", ":*", ":-*", ":))", ":((", ":)))", ";))", ":-))", ">:(", ">:)")

func isEmoticon(c string) bool {
	return emoticons[c] || emoticons[emoticonPrefix(c)]
}

// emoticonList holds the emoticons longest first, for prefix matching.
var emoticonList = func() []string {
	l := make([]string, 0, len(emoticons))
	for e := range emoticons {
		l = append(l, e)
	}
	sort.Slice(l, func(i, j int) bool {
		if len(l[i]) != len(l[j]) {
			return len(l[i]) > len(l[j])
		}
		return l[i] < l[j]
	})
	return l
}()

// emoticonStart marks the bytes an emoticon can start with.
var emoticonStart = func() (m [256]bool) {
	for e := range emoticons {
		m[e[0]] = true
	}
	return m
}()

func emoticonPrefix(c string) string {
	if c == "" || !emoticonStart[c[0]] {
		return ""
	}
	for _, e := range emoticonList {
		if strings.HasPrefix(c, e) {
			return e
		}
	}
	return ""
}

// protectedPrefix returns the length of a URL, e-mail address or emoticon
// at the start of c (without trailing sentence punctuation), or 0.
func protectedPrefix(c string) int {
	if e := emoticonPrefix(c); e != "" {
		rest := c[len(e):]
		if rest == "" || !isWordRune(firstRuneOf(rest)) {
			return len(e)
		}
	}
	var m string
	if mayURL(c) {
		m = urlRe.FindString(c)
	}
	if m == "" && strings.IndexByte(c, '@') > 0 {
		m = emailRe.FindString(c)
	}
	if m == "" && mayDomain(c) {
		m = domainRe.FindString(c)
	}
	if m == "" {
		return 0
	}
	// Give back trailing punctuation that is not part of the address.
	for len(m) > 0 {
		r, n := lastRune(m)
		if strings.ContainsRune(".,;:!?)]}\"'”’>*", r) {
			if r == ')' && strings.Contains(m, "(") {
				break
			}
			m = m[:len(m)-n]
			continue
		}
		break
	}
	if m == "" {
		return 0
	}
	if len(m) < len(c) {
		r := firstRuneOf(c[len(m):])
		if isWordRune(r) {
			return 0
		}
	}
	return len(m)
}

func firstRuneOf(s string) rune { r, _ := utf8.DecodeRuneInString(s); return r }

func isWordRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }

// isProtectedWhole reports whether a chunk core must not be split inside.
func isProtectedWhole(c string) bool {
	if strings.IndexByte(c, '@') > 0 && emailRe.MatchString(c) {
		return true
	}
	if c != "" && (c[0] >= '0' && c[0] <= '9' || c[0] == '+' || c[0] == '-') {
		if m := numberRe.FindString(c); m == c {
			return true
		}
	}
	if mayURL(c) && urlRe.MatchString(c) {
		return true
	}
	if mayDomain(c) {
		if m := domainRe.FindString(c); m == c {
			return true
		}
	}
	return isEmoticon(c) && emoticonPrefix(c) == c
}

// isCliticStart reports whether s (what follows a leading apostrophe)
// makes the apostrophe part of the word: 's, 'em, '90s, 'til.
func isCliticStart(s string) bool {
	p := firstPart(s)
	if p == "" {
		return false
	}
	rest := s[len(p):]
	if rest != "" && isWordRune(firstRuneOf(rest)) {
		return false
	}
	switch strings.ToLower(p) {
	case "s", "m", "re", "ve", "ll", "d", "em", "tis", "twas", "til", "cause", "n", "round", "nt", "t":
		return true
	}
	if len(p) == 3 && allDigits(p[:2]) && (p[2] == 's' || p[2] == 'S') {
		return true
	}
	if len(p) == 2 && allDigits(p) {
		return true
	}
	return false
}

// isCliticEnd reports whether a trailing apostrophe belongs to the word
// ("rock 'n' roll").
func isCliticEnd(c string) bool {
	l := strings.ToLower(c)
	return l == "'n'" || l == "’n’"
}

// words splits a token into its syntactic words (EWT multiword tokens).
func words(t Token) []Word {
	cut := clitic(t.Text)
	if cut <= 0 || cut >= len(t.Text) {
		return []Word{{Text: t.Text, Start: t.Start, End: t.End}}
	}
	return []Word{
		{Text: t.Text[:cut], Start: t.Start, End: t.Start + cut},
		{Text: t.Text[cut:], Start: t.Start + cut, End: t.End},
	}
}

// clitic returns the byte index where a token splits into host + clitic,
// or 0.
func clitic(s string) int {
	if len(s) < 2 {
		return 0
	}
	lower := strings.ToLower(s)
	norm := lower
	if strings.ContainsAny(lower, "’`") {
		norm = apostrophes.Replace(lower)
	}
	if norm != lower && len(norm) != len(s) {
		// Map the normalized cut back to bytes of s.
		c := clitic(norm)
		if c == 0 {
			return 0
		}
		return byteIndexFromNorm(s, c)
	}
	if fixedSplit[norm] > 0 {
		return fixedSplit[norm]
	}
	if strings.HasSuffix(norm, "n't") && len(norm) > 3 {
		host := norm[:len(norm)-3]
		if isLetters(host) {
			return len(s) - 3
		}
		return 0
	}
	if strings.HasSuffix(norm, "s'") && len(norm) > 3 && isLetters(norm[:len(norm)-1]) {
		return len(s) - len("'")
	}
	for _, suf := range []string{"'s", "'m", "'d", "'re", "'ve", "'ll"} {
		if strings.HasSuffix(norm, suf) && len(norm) > len(suf) {
			host := norm[:len(norm)-len(suf)]
			r, _ := lastRune(host)
			if unicode.IsLetter(r) || unicode.IsDigit(r) {
				if strings.Contains(host, "'") {
					return 0
				}
				return len(s) - len(suf)
			}
		}
	}
	return 0
}

// byteIndexFromNorm maps index i of the normalized (’ -> ') string back to
// s, where each ’ took 3 bytes instead of 1.
func byteIndexFromNorm(s string, i int) int {
	ni := 0
	for bi, r := range s {
		if ni == i {
			return bi
		}
		if r == '’' {
			ni++
		} else {
			ni += utf8.RuneLen(unicode.ToLower(r))
		}
	}
	return 0
}

func isLetters(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !unicode.IsLetter(r) {
			return false
		}
	}
	return true
}

var apostrophes = strings.NewReplacer("’", "'", "`", "'")

// fixedSplit holds whole-word contractions without an apostrophe.
var fixedSplit = map[string]int{
	"cannot": 3, "gonna": 3, "wanna": 3, "gotta": 3,
	"dont": 2, "didnt": 3, "doesnt": 4, "isnt": 2, "wasnt": 3, "werent": 4, "arent": 3,
	"couldnt": 5, "wouldnt": 5, "shouldnt": 6, "havent": 4, "hasnt": 3, "hadnt": 3,
	"im": 1, "ive": 1, "thats": 4, "youre": 3, "theyre": 4, "whats": 4,
}
