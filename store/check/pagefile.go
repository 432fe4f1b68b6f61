package check

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"strconv"
)

// The bbolt file format (version 2), read here with plain reads and a bound
// check on every access. bbolt itself maps the file and trusts what it
// finds, so damage makes it fault or panic; this reader turns the same
// damage into findings, which is what lets Open, CheckFile and Salvage look
// at any file without risk.
const (
	pageHeaderSize = 16 // id u64, flags u16, count u16, overflow u32
	elemSize       = 16 // branch: pos, ksize u32, pgid u64; leaf: flags, pos, ksize, vsize u32
	bucketHdrSize  = 16 // root pgid u64, sequence u64

	flagBranch   = 0x01
	flagLeaf     = 0x02
	flagMeta     = 0x04
	flagFreelist = 0x10

	leafBucketFlag = 0x01

	boltMagic   = 0xED0CDAED
	boltVersion = 2
	noFreelist  = ^uint64(0)
	maxDepth    = 64 // a B+tree of a journal is a few levels deep
)

// metaPage is one decoded bbolt meta page.
type metaPage struct {
	ok       bool
	why      string // when !ok
	version  uint32
	pageSize uint32
	root     uint64 // root bucket's page
	rootSeq  uint64
	freelist uint64
	pgid     uint64 // high-water mark: pages in use are < pgid
	txid     uint64
}

// decodeMeta decodes a meta page from the bytes of the page (header first).
func decodeMeta(p []byte) metaPage {
	if len(p) < pageHeaderSize+64 {
		return metaPage{why: "short page"}
	}
	le := binary.LittleEndian
	if le.Uint16(p[8:]) != flagMeta {
		return metaPage{why: fmt.Sprintf("not a meta page (flags %#x)", le.Uint16(p[8:]))}
	}
	m := p[pageHeaderSize : pageHeaderSize+64]
	mp := metaPage{
		version: le.Uint32(m[4:]), pageSize: le.Uint32(m[8:]),
		root: le.Uint64(m[16:]), rootSeq: le.Uint64(m[24:]),
		freelist: le.Uint64(m[32:]), pgid: le.Uint64(m[40:]), txid: le.Uint64(m[48:]),
	}
	switch {
	case le.Uint32(m[0:]) != boltMagic:
		mp.why = "no bbolt magic number"
		return mp
	case mp.version != boltVersion:
		mp.why = fmt.Sprintf("bbolt file format %d, this posagent reads %d", mp.version, boltVersion)
		return mp
	}
	h := fnv.New64a()
	h.Write(m[:56])
	if h.Sum64() != le.Uint64(m[56:]) {
		mp.why = "checksum mismatch"
		return mp
	}
	if mp.pageSize < 512 || mp.pageSize > 1<<20 || mp.pageSize&(mp.pageSize-1) != 0 {
		mp.why = fmt.Sprintf("impossible page size %d", mp.pageSize)
		return mp
	}
	if mp.pgid < 4 || mp.root < 2 || mp.root >= mp.pgid || (mp.freelist != noFreelist && (mp.freelist < 2 || mp.freelist >= mp.pgid)) {
		mp.why = fmt.Sprintf("impossible page numbers (root %d, freelist %d, high-water mark %d)", mp.root, mp.freelist, mp.pgid)
		return mp
	}
	mp.ok = true
	return mp
}

// pageFile is a bbolt file opened for checked reads.
type pageFile struct {
	r    io.ReaderAt
	size int64
	ps   int
	meta [2]metaPage
	cur  int // the meta page bbolt would use (highest valid txid)
}

// Finding is one problem found in a journal file.
type Finding struct {
	Page    *uint64 `json:"page,omitempty"`   // the bbolt page, when the problem is one page
	Bucket  string  `json:"bucket,omitempty"` // payments, orders, outbox, ...
	Key     string  `json:"key,omitempty"`    // the record, printable
	Problem string  `json:"problem"`
	// Damage: the journal must not be used as it is. A finding that is
	// not damage is a warning: the agent starts and says so.
	Damage bool `json:"damage"`
}

func (f Finding) String() string {
	var b bytes.Buffer
	if f.Page != nil {
		fmt.Fprintf(&b, "page %d: ", *f.Page)
	}
	if f.Bucket != "" {
		b.WriteString(f.Bucket)
		if f.Key != "" {
			fmt.Fprintf(&b, " %s", f.Key)
		}
		b.WriteString(": ")
	}
	b.WriteString(f.Problem)
	return b.String()
}

func pg(id uint64) *uint64 { return &id }

// openPageFile reads the meta pages. A file with no valid meta page at all
// gives a finding and no pageFile.
func openPageFile(r io.ReaderAt, size int64) (*pageFile, []Finding) {
	pf := &pageFile{r: r, size: size}
	first := make([]byte, 4096)
	n, _ := r.ReadAt(first, 0)
	m0 := decodeMeta(first[:n])
	ps := 4096
	if m0.ok {
		ps = int(m0.pageSize)
	}
	second := make([]byte, 4096)
	n, _ = r.ReadAt(second, int64(ps))
	m1 := decodeMeta(second[:n])
	if !m0.ok && m1.ok && int(m1.pageSize) != ps {
		ps = int(m1.pageSize)
		n, _ = r.ReadAt(second, int64(ps))
		m1 = decodeMeta(second[:n])
	}
	// bbolt asserts that a page names itself: so must a meta page.
	for i, m := range []*metaPage{&m0, &m1} {
		buf := first
		if i == 1 {
			buf = second
		}
		if m.ok && binary.LittleEndian.Uint64(buf) != uint64(i) {
			m.ok, m.why = false, fmt.Sprintf("names itself page %d", binary.LittleEndian.Uint64(buf))
		}
	}
	pf.ps, pf.meta = ps, [2]metaPage{m0, m1}
	var fs []Finding
	if !m0.ok && !m1.ok {
		why := m0.why
		if size < int64(2*pageHeaderSize+128) {
			why = fmt.Sprintf("only %d bytes", size)
		}
		return nil, []Finding{{Problem: "not a bbolt journal: no valid meta page (" + why + ")", Damage: true}}
	}
	for i, m := range pf.meta {
		if !m.ok {
			fs = append(fs, Finding{Page: pg(uint64(i)), Problem: "meta page damaged (" + m.why + "): bbolt would silently fall back to the other, older copy and lose the last transaction", Damage: true})
		}
	}
	switch {
	case !m0.ok:
		pf.cur = 1
	case !m1.ok:
		pf.cur = 0
	case m1.txid > m0.txid:
		pf.cur = 1
	}
	if m0.ok && m1.ok && m0.pageSize != m1.pageSize {
		fs = append(fs, Finding{Problem: fmt.Sprintf("the meta pages disagree on the page size (%d, %d)", m0.pageSize, m1.pageSize), Damage: true})
	}
	if m := pf.m(); int64(m.pgid)*int64(pf.ps) > size {
		fs = append(fs, Finding{Problem: fmt.Sprintf("truncated: the file has %d bytes, the journal needs %d (%d pages of %d)", size, int64(m.pgid)*int64(pf.ps), m.pgid, pf.ps), Damage: true})
	}
	return pf, fs
}

func (pf *pageFile) m() metaPage { return pf.meta[pf.cur] }

// page reads page id with its overflow pages; the error says why it cannot.
func (pf *pageFile) page(id uint64) ([]byte, error) {
	m := pf.m()
	if id >= m.pgid {
		return nil, fmt.Errorf("page number %d is past the end of the journal (%d pages)", id, m.pgid)
	}
	off := int64(id) * int64(pf.ps)
	if off+int64(pf.ps) > pf.size {
		return nil, fmt.Errorf("past the end of the file (truncated)")
	}
	hdr := make([]byte, pageHeaderSize)
	if _, err := pf.r.ReadAt(hdr, off); err != nil {
		return nil, fmt.Errorf("read: %v", err)
	}
	le := binary.LittleEndian
	if got := le.Uint64(hdr); got != id {
		return nil, fmt.Errorf("holds foreign bytes (it names itself page %d)", got)
	}
	over := uint64(le.Uint32(hdr[12:]))
	if id+over >= m.pgid {
		return nil, fmt.Errorf("claims %d overflow pages, past the end of the journal", over)
	}
	n := int64(over+1) * int64(pf.ps)
	if off+n > pf.size {
		return nil, fmt.Errorf("past the end of the file (truncated)")
	}
	buf := make([]byte, n)
	if _, err := pf.r.ReadAt(buf, off); err != nil {
		return nil, fmt.Errorf("read: %v", err)
	}
	return buf, nil
}

// element is one decoded entry of a branch or leaf page.
type element struct {
	bucket bool   // leaf: a sub-bucket
	key    []byte // aliases the page buffer
	value  []byte // leaf
	child  uint64 // branch
}

// elements decodes the entries of a branch or leaf page held in p (a
// page buffer, or an inline bucket's page).
func elements(p []byte) (flags uint16, out []element, err error) {
	if len(p) < pageHeaderSize {
		return 0, nil, fmt.Errorf("short page")
	}
	le := binary.LittleEndian
	flags, count := le.Uint16(p[8:]), int(le.Uint16(p[10:]))
	if flags != flagBranch && flags != flagLeaf {
		return flags, nil, fmt.Errorf("not a branch or leaf page (flags %#x)", flags)
	}
	if pageHeaderSize+count*elemSize > len(p) {
		return flags, nil, fmt.Errorf("claims %d entries, more than fit", count)
	}
	out = make([]element, 0, count)
	for i := 0; i < count; i++ {
		at := pageHeaderSize + i*elemSize
		e := p[at : at+elemSize]
		var el element
		if flags == flagBranch {
			pos, ks := uint64(le.Uint32(e[0:])), uint64(le.Uint32(e[4:]))
			if uint64(at)+pos+ks > uint64(len(p)) || ks == 0 {
				return flags, nil, fmt.Errorf("entry %d: key outside the page", i)
			}
			el.key = p[uint64(at)+pos : uint64(at)+pos+ks]
			el.child = le.Uint64(e[8:])
		} else {
			fl, pos, ks, vs := le.Uint32(e[0:]), uint64(le.Uint32(e[4:])), uint64(le.Uint32(e[8:])), uint64(le.Uint32(e[12:]))
			if fl&^leafBucketFlag != 0 {
				return flags, nil, fmt.Errorf("entry %d: unknown flags %#x", i, fl)
			}
			if uint64(at)+pos+ks+vs > uint64(len(p)) || ks == 0 {
				return flags, nil, fmt.Errorf("entry %d: key or value outside the page", i)
			}
			k := uint64(at) + pos
			el.key, el.value = p[k:k+ks], p[k+ks:k+ks+vs]
			el.bucket = fl&leafBucketFlag != 0
		}
		out = append(out, el)
	}
	return flags, out, nil
}

// freelist reads the freelist page's ids.
func (pf *pageFile) freelist() (span uint64, ids []uint64, err error) {
	id := pf.m().freelist
	if id == noFreelist {
		return 0, nil, nil
	}
	p, err := pf.page(id)
	if err != nil {
		return 0, nil, err
	}
	le := binary.LittleEndian
	if f := le.Uint16(p[8:]); f != flagFreelist {
		return 0, nil, fmt.Errorf("not a freelist page (flags %#x)", f)
	}
	span = uint64(len(p) / pf.ps)
	count, at := uint64(le.Uint16(p[10:])), pageHeaderSize
	if count == 0xFFFF {
		if len(p) < pageHeaderSize+8 {
			return span, nil, fmt.Errorf("short freelist")
		}
		count, at = le.Uint64(p[pageHeaderSize:]), pageHeaderSize+8
	}
	if count > uint64(len(p)-at)/8 {
		return span, nil, fmt.Errorf("claims %d free pages, more than fit", count)
	}
	ids = make([]uint64, count)
	for i := range ids {
		ids[i] = le.Uint64(p[at+8*i:])
	}
	return span, ids, nil
}

// visitor receives the records of a walk. bucket is the top-level bucket's
// name; k and v alias a page buffer (copy to keep them).
type visitor interface {
	record(bucket string, k, v []byte)
	bucketSeq(bucket string, seq uint64)
	// lost is told of a subtree that could not be read.
	lost(bucket string, page uint64)
}

// walker walks the tree from the meta page, recording every page it
// reaches and every problem, and skipping what it cannot read.
type walker struct {
	pf    *pageFile
	v     visitor
	reach map[uint64]bool
	finds []Finding
	// leafOf: for each leaf page reached, its bucket (salvage uses it
	// to tell pages with lost parents from freed ones).
	leafOf   map[uint64]string
	branchOf map[uint64]string
	// noPageBuckets: leave leafOf and branchOf out (only the page list
	// and salvage read them; a walk of the whole journal saves a map
	// entry per page).
	noPageBuckets bool
	// unreached: pages neither in use nor free (their parent was lost).
	unreached []uint64
	// scope, when set, limits the walk to the key ranges [lo, hi) of each
	// bucket it wants (hi nil: no upper bound); the page accounting is then
	// left out (quickcheck.go).
	scope func(bucket string, lo, hi []byte) bool
}

// wants reports whether the walk reads keys [lo, hi) of bucket.
func (w *walker) wants(bucket string, lo, hi []byte) bool {
	return w.scope == nil || w.scope(bucket, lo, hi)
}

func (w *walker) find(f Finding) { w.finds = append(w.finds, f) }

// walk reads the whole tree and checks the page accounting: every page is
// a meta page, the freelist, reachable from the root, or free — once.
func (w *walker) walk() {
	w.reach = map[uint64]bool{0: true, 1: true}
	if !w.noPageBuckets {
		w.leafOf, w.branchOf = map[uint64]string{}, map[uint64]string{}
	}
	m := w.pf.m()
	free := map[uint64]bool{}
	span, ids, err := w.pf.freelist()
	if err != nil {
		w.find(Finding{Page: pg(m.freelist), Problem: "freelist unreadable: " + err.Error(), Damage: true})
	} else {
		for i := uint64(0); i < span; i++ {
			w.reach[m.freelist+i] = true
		}
		for _, id := range ids {
			switch {
			case id < 2 || id >= m.pgid:
				w.find(Finding{Page: pg(m.freelist), Problem: fmt.Sprintf("freelist names page %d, outside the journal", id), Damage: true})
			case free[id]:
				w.find(Finding{Page: pg(id), Problem: "freed twice in the freelist", Damage: true})
			}
			free[id] = true
		}
	}
	w.node("", m.root, nil, nil, nil, 0, true)
	if err != nil {
		return // without the freelist, unreached pages say nothing
	}
	if w.scope != nil {
		// A scoped walk reached only some pages: none of them may be free.
		for id := range w.reach {
			if id >= 2 && free[id] {
				w.find(Finding{Page: pg(id), Problem: "in use and in the freelist at the same time", Damage: true})
			}
		}
		return
	}
	var unreached []uint64
	for id := uint64(2); id < m.pgid; id++ {
		if w.reach[id] && free[id] {
			w.find(Finding{Page: pg(id), Problem: "in use and in the freelist at the same time", Damage: true})
		}
		if !w.reach[id] && !free[id] {
			unreached = append(unreached, id)
		}
	}
	w.unreached = unreached
	if len(unreached) > 0 {
		w.find(Finding{Page: pg(unreached[0]), Problem: fmt.Sprintf("%d page(s) neither in use nor free (%s): a parent page was lost", len(unreached), pageList(unreached)), Damage: true})
	}
}

func pageList(ids []uint64) string {
	var b bytes.Buffer
	for i, id := range ids {
		if i == 8 {
			fmt.Fprintf(&b, ", ...")
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(strconv.FormatUint(id, 10))
	}
	return b.String()
}

// node walks the subtree at page id (or the inline page when inline is
// not nil) of bucket (top level: ""), with keys in [lo, hi).
func (w *walker) node(bucket string, id uint64, inline, lo, hi []byte, depth int, top bool) (ok bool) {
	where := bucket
	if top {
		where = "(root)"
	}
	if depth > maxDepth {
		w.find(Finding{Page: pg(id), Bucket: where, Problem: "the tree is impossibly deep (a loop of pages)", Damage: true})
		return false
	}
	fail := func(problem string) bool {
		w.find(Finding{Page: pg(id), Bucket: where, Problem: problem, Damage: true})
		if !top {
			w.v.lost(bucket, id)
		}
		return false
	}
	p := inline
	if p == nil {
		var err error
		if p, err = w.readPage(id, where); err != nil {
			return fail(err.Error())
		} else if p == nil {
			return false
		}
	}
	flags, els, err := elements(p)
	if err != nil {
		return fail(err.Error())
	}
	// Keys strictly ascending, within the parent's range.
	for i, e := range els {
		if (i > 0 && bytes.Compare(els[i-1].key, e.key) >= 0) || (lo != nil && bytes.Compare(e.key, lo) < 0) || (hi != nil && bytes.Compare(e.key, hi) >= 0) {
			w.find(Finding{Page: pg(id), Bucket: where, Key: printable(e.key), Problem: "keys out of order", Damage: true})
			if !top {
				w.v.lost(bucket, id)
			}
			return false
		}
	}
	if flags == flagBranch {
		if inline != nil {
			w.find(Finding{Page: pg(id), Bucket: where, Problem: "an inline bucket holds a branch page", Damage: true})
			return false
		}
		if w.branchOf != nil {
			w.branchOf[id] = bucket
		}
		for i, e := range els {
			var next []byte
			if i+1 < len(els) {
				next = els[i+1].key
			} else {
				next = hi
			}
			if !top && !w.wants(bucket, e.key, next) {
				continue
			}
			w.node(bucket, e.child, nil, e.key, next, depth+1, top)
		}
		return true
	}
	if inline == nil && w.leafOf != nil {
		w.leafOf[id] = bucket
	}
	if top {
		w.rootLeaf(id, els, depth)
		return true
	}
	for _, e := range els {
		if e.bucket {
			w.find(Finding{Page: pg(id), Bucket: bucket, Key: printable(e.key), Problem: "unexpected nested bucket", Damage: true})
			continue
		}
		if w.scope != nil && !w.scope(bucket, e.key, append(e.key[:len(e.key):len(e.key)], 0)) {
			continue
		}
		w.v.record(bucket, e.key, e.value)
	}
	return true
}

// readPage reads page id and its overflow, marking them reached: nil and
// nil error for a page referenced twice (already reported), nil and the
// error for one that cannot be read.
func (w *walker) readPage(id uint64, where string) ([]byte, error) {
	if w.reach[id] {
		w.find(Finding{Page: pg(id), Bucket: where, Problem: "referenced twice", Damage: true})
		return nil, nil
	}
	w.reach[id] = true // referenced, even when it cannot be read
	p, err := w.pf.page(id)
	if err != nil {
		return nil, err
	}
	for i := 0; i < len(p)/w.pf.ps; i++ {
		w.reach[id+uint64(i)] = true
	}
	return p, nil
}

// rootLeaf walks the buckets named on a leaf page of the root.
func (w *walker) rootLeaf(id uint64, els []element, depth int) {
	for _, e := range els {
		name := string(e.key)
		if !e.bucket {
			w.find(Finding{Page: pg(id), Bucket: "(root)", Key: printable(e.key), Problem: "a plain value where a bucket belongs", Damage: true})
			continue
		}
		if len(e.value) < bucketHdrSize {
			w.find(Finding{Page: pg(id), Bucket: name, Problem: "bucket header cut short", Damage: true})
			continue
		}
		root := binary.LittleEndian.Uint64(e.value)
		w.v.bucketSeq(name, binary.LittleEndian.Uint64(e.value[8:]))
		if !w.wants(name, nil, nil) {
			continue
		}
		if root == 0 {
			w.node(name, id, e.value[bucketHdrSize:], nil, nil, depth+1, false)
		} else {
			w.node(name, root, nil, nil, nil, depth+1, false)
		}
	}
}

// printable renders a key for a message: text when it is text, else hex
// (8-byte sequence keys as numbers).
func printable(k []byte) string {
	if len(k) == 8 && k[0] == 0 {
		return "#" + strconv.FormatUint(binary.BigEndian.Uint64(k), 10)
	}
	for _, c := range k {
		if c < 0x20 || c > 0x7e {
			return fmt.Sprintf("%x", k)
		}
	}
	if len(k) > 64 {
		return string(k[:64]) + "..."
	}
	return string(k)
}

// PageInfo describes one page of a journal file (posagent journal check
// --pages, and tests that damage a page of a given kind).
type PageInfo struct {
	ID     uint64 `json:"id"`
	Type   string `json:"type"`             // meta, freelist, branch, leaf, free, overflow, unreachable
	Bucket string `json:"bucket,omitempty"` // for branch and leaf pages: the bucket ("" the root)
	Count  int    `json:"count,omitempty"`  // entries
}

// pagesOnly is the visitor of a walk for the page list: it reads no record.
type pagesOnly struct{}

func (pagesOnly) record(string, []byte, []byte) {}
func (pagesOnly) bucketSeq(string, uint64)      {}
func (pagesOnly) lost(string, uint64)           {}

// Pages lists every page of the journal file at path, read with the
// checked reader (nothing is modified; damaged pages read as unreachable).
func Pages(path string) ([]PageInfo, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("store: pages %s: %w", path, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("store: pages %s: %w", path, err)
	}
	pf, fs := openPageFile(f, fi.Size())
	if pf == nil {
		return nil, fmt.Errorf("store: pages %s: %s", path, fs[0].Problem)
	}
	m := pf.m()
	free := map[uint64]bool{}
	_, ids, _ := pf.freelist()
	for _, id := range ids {
		free[id] = true
	}
	// The pages alone: their records are not decoded (the check does that).
	w := &walker{pf: pf, v: pagesOnly{}}
	w.walk()
	out := make([]PageInfo, 0, m.pgid)
	for id := uint64(0); id < m.pgid; id++ {
		pi := PageInfo{ID: id}
		switch {
		case id < 2:
			pi.Type = "meta"
		case id == m.freelist:
			pi.Type = "freelist"
		case free[id]:
			pi.Type = "free"
		case !w.reach[id]:
			pi.Type = "unreachable"
		default:
			p, err := pf.page(id)
			if err != nil {
				pi.Type = "overflow"
				break
			}
			fl, els, _ := elements(p)
			pi.Count = len(els)
			switch fl {
			case flagBranch:
				pi.Type = "branch"
			case flagLeaf:
				pi.Type = "leaf"
			default:
				pi.Type = "overflow"
			}
			b, ok := w.leafOf[id]
			if !ok {
				b = w.branchOf[id]
			}
			pi.Bucket = b
		}
		out = append(out, pi)
	}
	return out, nil
}

// PageRecord is one entry of a leaf page: its key, and where its value
// starts in the file.
type PageRecord struct {
	Key     []byte
	ValueAt int64
}

// PageRecords lists the entries of page id (a leaf) of the journal file at
// path, read with the checked reader (diagnostics, and the tests that
// damage one record or one page).
func PageRecords(path string, id uint64) ([]PageRecord, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("store: pages %s: %w", path, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("store: pages %s: %w", path, err)
	}
	pf, fs := openPageFile(f, fi.Size())
	if pf == nil {
		return nil, fmt.Errorf("store: pages %s: %s", path, fs[0].Problem)
	}
	p, err := pf.page(id)
	if err != nil {
		return nil, fmt.Errorf("store: page %d of %s: %s", id, path, err)
	}
	_, els, err := elements(p)
	if err != nil {
		return nil, fmt.Errorf("store: page %d of %s: %s", id, path, err)
	}
	out := make([]PageRecord, 0, len(els))
	for _, e := range els {
		// e.value is p[at:], so its offset in p is what its capacity lacks.
		out = append(out, PageRecord{Key: bytes.Clone(e.key), ValueAt: int64(id)*int64(pf.ps) + int64(cap(p)-cap(e.value))})
	}
	return out, nil
}
