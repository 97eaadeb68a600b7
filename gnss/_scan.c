/* gnss._scan: the hot inner loops of the NMEA fast path, in C (optional extension).
 *
 * Functions, each a strict subset of a Python fast path it stands in for:
 *
 *   frame_clean(buf, keep)  == gnss.framing._clean_lines_vector / _small: a chunk of whole
 *       clean lines ($ + printable + *hh, LF or CR LF) -> (bodies, indexes | None, lines),
 *       or None when anything is unusual (the general scanner then frames the chunk).
 *   run_cycle(...)          == gnss.fastpath.CycleReader.epoch + _fix for cycles of GGA,
 *       RMC, GST and ZDA (VTG and GSA may come in between): whole epochs -> Fix objects
 *       appended to a list, stopping (without consuming) at the first epoch it does not
 *       read; Python then goes on as before.
 *   bind_fix(cls, names)    lets run_cycle fill the slots of new Fix objects itself.
 *
 * Untrusted input: every index is checked against the object's length; no buffer is
 * written but a bounded local one (numbers of at most 40 characters); numbers are
 * converted exactly as Python's float() does (correctly rounded, locale independent):
 * those of at most 15 digits by one exact division (small_decimal), the others by
 * PyOS_string_to_double, float()'s own converter.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>
#include <string.h>

#define MAX_SENTENCE_BYTES 255
#define MIN_CLEAN 10
#define MAX_FIELDS 24
#define NUM_BUF 48
#define MS_PER_DAY 86400000LL

static int hex_value(unsigned char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

static int is_digit(unsigned char c) { return c >= '0' && c <= '9'; }

/* ---------------------------------------------------------------- frame_clean */

/* keep: NULL (every type) or n_keep 3-byte types back to back. */
static int kept(const unsigned char *type, const unsigned char *keep, Py_ssize_t n_keep)
{
    if (keep == NULL) return 1;
    for (Py_ssize_t k = 0; k < n_keep; k++) {
        if (memcmp(type, keep + 3 * k, 3) == 0) return 1;
    }
    return 0;
}

static PyObject *frame_clean(PyObject *self, PyObject *args)
{
    (void)self;
    Py_buffer view;
    PyObject *keep_obj;
    if (!PyArg_ParseTuple(args, "y*O", &view, &keep_obj)) return NULL;
    const unsigned char *keep = NULL;
    Py_ssize_t n_keep = 0;
    if (keep_obj != Py_None) {
        if (!PyBytes_Check(keep_obj) || PyBytes_GET_SIZE(keep_obj) % 3 != 0) {
            PyBuffer_Release(&view);
            PyErr_SetString(PyExc_TypeError, "keep must be None or bytes of 3-byte types");
            return NULL;
        }
        keep = (const unsigned char *)PyBytes_AS_STRING(keep_obj);
        n_keep = PyBytes_GET_SIZE(keep_obj) / 3;
    }
    const unsigned char *buf = (const unsigned char *)view.buf;
    Py_ssize_t n = view.len;
    PyObject *out = PyList_New(0);
    PyObject *indexes = PyList_New(0);
    if (out == NULL || indexes == NULL) goto fail;
    Py_ssize_t start = 0, line = 0;
    int clean = n > 0 && buf[n - 1] == '\n';
    while (clean && start < n) {
        /* one line: buf[start] must be '$', then printable bytes up to LF or CR LF */
        if (buf[start] != '$') { clean = 0; break; }
        Py_ssize_t j = start + 1;
        while (j < n && buf[j] >= 0x20 && buf[j] <= 0x7E && buf[j] != '$') j++;
        if (j >= n) { clean = 0; break; }
        Py_ssize_t end = j; /* end of the line's text */
        if (buf[j] == '\r') {
            if (j + 1 >= n || buf[j + 1] != '\n') { clean = 0; break; }
            j += 1;
        }
        if (buf[j] != '\n') { clean = 0; break; }
        Py_ssize_t size = end - start;
        if (size < MIN_CLEAN || size - 1 > MAX_SENTENCE_BYTES) { clean = 0; break; }
        if (kept(buf + start + 3, keep, n_keep)) {
            Py_ssize_t star = end - 3;
            if (buf[star] != '*') { clean = 0; break; }
            int hi = hex_value(buf[star + 1]), lo = hex_value(buf[star + 2]);
            if (hi < 0 || lo < 0) { clean = 0; break; }
            unsigned char x = 0;
            for (Py_ssize_t k = start + 1; k < star; k++) x ^= buf[k];
            if (x != (unsigned char)(hi << 4 | lo)) { clean = 0; break; }
            PyObject *body = PyBytes_FromStringAndSize((const char *)buf + start + 1, star - start - 1);
            if (body == NULL) goto fail;
            int err = PyList_Append(out, body);
            Py_DECREF(body);
            if (err < 0) goto fail;
            PyObject *index = PyLong_FromSsize_t(line);
            if (index == NULL) goto fail;
            err = PyList_Append(indexes, index);
            Py_DECREF(index);
            if (err < 0) goto fail;
        }
        line += 1;
        start = j + 1;
    }
    PyBuffer_Release(&view);
    if (!clean) {
        Py_DECREF(out);
        Py_DECREF(indexes);
        Py_RETURN_NONE;
    }
    if (PyList_GET_SIZE(out) == line) {
        Py_DECREF(indexes);
        return Py_BuildValue("(NOn)", out, Py_None, line);
    }
    return Py_BuildValue("(NNn)", out, indexes, line);
fail:
    PyBuffer_Release(&view);
    Py_XDECREF(out);
    Py_XDECREF(indexes);
    return NULL;
}

/* ---------------------------------------------------------------- run_cycle */

typedef struct {
    const unsigned char *p;
    Py_ssize_t n;
} Span;

enum { T_GGA = 1, T_RMC = 2, T_GST = 3, T_ZDA = 4 };
#define MAX_CYCLE 4

/* Fields of one body (split on ','): at most MAX_FIELDS kept, the count of all. */
static Py_ssize_t split_fields(const unsigned char *s, Py_ssize_t n, Span *f)
{
    Py_ssize_t count = 0, at = 0;
    for (Py_ssize_t k = 0; k <= n; k++) {
        if (k == n || s[k] == ',') {
            if (count < MAX_FIELDS) {
                f[count].p = s + at;
                f[count].n = k - at;
            }
            count++;
            at = k + 1;
        }
    }
    return count;
}

static int all_digits(Span f)
{
    for (Py_ssize_t k = 0; k < f.n; k++) {
        if (!is_digit(f.p[k])) return 0;
    }
    return 1;
}

/* ``\d{width}(?:\.\d{0,decimals})?`` */
static int fixed_point(Span f, Py_ssize_t width, Py_ssize_t decimals)
{
    if (f.n < width) return 0;
    for (Py_ssize_t k = 0; k < width; k++) {
        if (!is_digit(f.p[k])) return 0;
    }
    if (f.n == width) return 1;
    if (f.p[width] != '.' || f.n - width - 1 > decimals) return 0;
    for (Py_ssize_t k = width + 1; k < f.n; k++) {
        if (!is_digit(f.p[k])) return 0;
    }
    return 1;
}

/* A coordinate and its hemisphere: both empty, or ddmm[.m] / dddmm[.m] and one letter. */
static int coordinate_pair(Span value, Span hemi, Py_ssize_t width, char plus, char minus)
{
    if (value.n == 0 && hemi.n == 0) return 1;
    return fixed_point(value, width, 10) && hemi.n == 1 && (hemi.p[0] == plus || hemi.p[0] == minus);
}

/* ``(?:-?\d{1,15}(?:\.\d{0,15})?)?`` */
static int number_text(Span f)
{
    if (f.n == 0) return 1;
    Py_ssize_t k = f.p[0] == '-' ? 1 : 0, digits = 0;
    while (k < f.n && is_digit(f.p[k])) { k++; digits++; }
    if (digits < 1 || digits > 15) return 0;
    if (k == f.n) return 1;
    if (f.p[k] != '.') return 0;
    k++;
    Py_ssize_t decimals = 0;
    while (k < f.n && is_digit(f.p[k])) { k++; decimals++; }
    return k == f.n && decimals <= 15;
}

/* Exact powers of ten: every one up to 1e22 is a double (5^22 < 2^53). */
static const double exact_tens[] = {
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
};

/* float(text) of ``-?\d+(\.\d*)?`` text with at most 15 digits in all, without the
 * general converter: the digits as an integer m < 10^15 < 2^53 and 10^d are both exact
 * doubles, so the one IEEE division m / 10^d is the correctly rounded value of the
 * decimal, which is what float() returns (Clinger's fast path; round to nearest, no
 * extended precision on x86-64 SSE2). 0: not of that shape (the caller converts it). */
static int small_decimal(Span f, double *out)
{
    Py_ssize_t k = 0, digits = 0, decimals = 0;
    int negative = f.n > 0 && f.p[0] == '-';
    long long m = 0;
    if (negative) k = 1;
    Py_ssize_t first = k;
    for (; k < f.n && is_digit(f.p[k]); k++) {
        if (++digits > 15) return 0;
        m = m * 10 + (f.p[k] - '0');
    }
    if (k == first) return 0;
    if (k < f.n) {
        if (f.p[k] != '.') return 0;
        for (k++; k < f.n && is_digit(f.p[k]); k++, decimals++) {
            if (digits + decimals >= 15) return 0;
            m = m * 10 + (f.p[k] - '0');
        }
        if (k != f.n) return 0;
    }
    double value = (double)m / exact_tens[decimals];
    *out = negative ? -value : value;
    return 1;
}

/* float(text) of a checked number text: the exact fast path above, else Python's own
 * converter on a bounded copy. */
static int to_double(Span f, double *out)
{
    if (small_decimal(f, out)) return 1;
    char text[NUM_BUF];
    if (f.n <= 0 || f.n >= NUM_BUF) return 0;
    memcpy(text, f.p, (size_t)f.n);
    text[f.n] = '\0';
    char *end = NULL;
    double value = PyOS_string_to_double(text, &end, NULL);
    if (value == -1.0 && PyErr_Occurred()) {
        PyErr_Clear();
        return 0;
    }
    if (end != text + f.n) return 0;
    *out = value;
    return 1;
}

static int two_digits(const unsigned char *p) { return (p[0] - '0') * 10 + (p[1] - '0'); }

/* gnss.sentences.time_of_day of ``\d{6}(?:\.\d*)?`` text; -1 when it is refused. */
static long long time_of_day(Span f)
{
    if (f.n < 6) return -1;
    for (Py_ssize_t k = 0; k < 6; k++) {
        if (!is_digit(f.p[k])) return -1;
    }
    if (f.n > 6) {
        if (f.p[6] != '.') return -1;
        for (Py_ssize_t k = 7; k < f.n; k++) {
            if (!is_digit(f.p[k])) return -1;
        }
    }
    int hh = two_digits(f.p), mm = two_digits(f.p + 2), ss = two_digits(f.p + 4);
    if (hh > 23 || mm > 59 || ss > 60) return -1;
    long long ms = 0;
    Py_ssize_t frac = f.n - 7; /* digits after the point */
    if (frac > 3) frac = 3;
    for (Py_ssize_t k = 0; k < frac; k++) ms = ms * 10 + (f.p[7 + k] - '0');
    if (frac == 1) ms *= 100;
    else if (frac == 2) ms *= 10;
    return ((hh * 60LL + mm) * 60LL + ss) * 1000LL + ms;
}

static int is_leap(long long y) { return y % 4 == 0 && (y % 100 != 0 || y % 400 == 0); }

static long long floor_div(long long a, long long b)
{
    long long q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0))) q -= 1;
    return q;
}

/* gnss.civil.valid_date + days_from_civil; 0 and *ok = 0 for no calendar date. */
static long long civil_day(long long year, long long month, long long day, int *ok)
{
    static const int month_days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    *ok = 0;
    if (year < 1900 || year > 2199 || month < 1 || month > 12 || day < 1) return 0;
    long long limit = (month == 2 && is_leap(year)) ? 29 : month_days[month - 1];
    if (day > limit) return 0;
    long long y = year - (month <= 2 ? 1 : 0);
    long long era = floor_div(y, 400);
    long long yoe = y - era * 400;
    long long mp = month > 2 ? month - 3 : month + 9;
    long long doy = (153 * mp + 2) / 5 + day - 1;
    long long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    *ok = 1;
    return era * 146097 + doe - 719468;
}

/* gnss.sentences.rmc_date (ddmmyy -> day number); 0 and *ok = 0 when refused. */
static long long rmc_day(Span f, int *ok)
{
    *ok = 0;
    if (f.n != 6 || !all_digits(f)) return 0;
    long long day = two_digits(f.p), month = two_digits(f.p + 2), yy = two_digits(f.p + 4);
    return civil_day(yy >= 80 ? 1900 + yy : 2000 + yy, month, day, ok);
}

/* The day of a ZDA's day, month and four-digit year (gnss.fastpath._day(..., True)). */
static long long zda_day(const Span *d, const Span *m, const Span *y, int *ok)
{
    long long year = two_digits(y->p) * 100 + two_digits(y->p + 2);
    return civil_day(year, two_digits(m->p), two_digits(d->p), ok);
}

static long long nearest_instant(long long tod, long long ref)
{
    long long best = floor_div(ref, MS_PER_DAY) * MS_PER_DAY + tod;
    long long before = best - MS_PER_DAY, after = best + MS_PER_DAY;
    long long d_best = best > ref ? best - ref : ref - best;
    long long d_before = before > ref ? before - ref : ref - before;
    if (d_before < d_best) { best = before; d_best = d_before; }
    long long d_after = after > ref ? after - ref : ref - after;
    if (d_after < d_best) best = after;
    return best;
}

/* degrees of a checked ``ddmm.m`` / ``dddmm.m`` text, as gnss.fastpath computes them */
static int degrees_of(Span raw, double *out)
{
    double value;
    if (!to_double(raw, &value)) return 0;
    long long whole = (long long)value; /* value >= 0: truncation is int() */
    long long degrees = whole / 100;
    *out = (double)degrees + (value - (double)(degrees * 100)) / 60.0;
    return 1;
}

/* The canonical fields of one epoch (empty spans where a type is absent). */
typedef struct {
    Span time;
    Span g_lat, g_ns, g_lon, g_ew, g_q, g_sats, g_hdop, g_alt;
    Span r_status, r_lat, r_ns, r_lon, r_ew, r_knots, r_course, r_date, r_mode;
    Span s_lat, s_lon;
    Span z_d, z_m, z_y;
    int vtg, gsa; /* VTG / GSA bodies came among the epoch's sentences */
} Epoch;

static int printable(const unsigned char *s, Py_ssize_t n)
{
    for (Py_ssize_t k = 0; k < n; k++) {
        if (s[k] < 0x20 || s[k] > 0x7E) return 0;
    }
    return 1;
}

/* One body of the cycle into ``e``; 0 when it is out of the fast path's patterns. */
static int read_body(PyObject *body, const unsigned char *address, int type, Epoch *e, int first, PyObject *modes)
{
    if (!PyBytes_CheckExact(body)) return 0;
    const unsigned char *s = (const unsigned char *)PyBytes_AS_STRING(body);
    Py_ssize_t n = PyBytes_GET_SIZE(body);
    if (n < 7 || memcmp(s, address, 5) != 0 || s[5] != ',' || !printable(s, n)) return 0;
    Span f[MAX_FIELDS];
    Py_ssize_t nf = split_fields(s, n, f);
    Span time = f[1];
    if (time.n < 6 || time_of_day(time) < 0) return 0;
    if (first) e->time = time;
    else if (time.n != e->time.n || memcmp(time.p, e->time.p, (size_t)time.n) != 0) return 0;
    if (type == T_GGA) {
        if (nf < 10) return 0;
        if (!coordinate_pair(f[2], f[3], 4, 'N', 'S') || !coordinate_pair(f[4], f[5], 5, 'E', 'W')) return 0;
        if (f[6].n > 1 || !all_digits(f[6]) || f[7].n > 3 || !all_digits(f[7])) return 0;
        if (!number_text(f[8]) || !number_text(f[9])) return 0;
        e->g_lat = f[2]; e->g_ns = f[3]; e->g_lon = f[4]; e->g_ew = f[5];
        e->g_q = f[6]; e->g_sats = f[7]; e->g_hdop = f[8]; e->g_alt = f[9];
        return 1;
    }
    if (type == T_RMC) {
        if (nf < 12) return 0;
        if (f[2].n != 1 || (f[2].p[0] != 'A' && f[2].p[0] != 'V')) return 0;
        if (!coordinate_pair(f[3], f[4], 4, 'N', 'S') || !coordinate_pair(f[5], f[6], 5, 'E', 'W')) return 0;
        if (!number_text(f[7]) || !number_text(f[8])) return 0;
        if (f[9].n != 0 && (f[9].n != 6 || !all_digits(f[9]))) return 0;
        Span mode = {s, 0};
        if (nf > 12) {
            /* empty, or one FAA mode letter (the quality table knows it) */
            if (f[12].n > 1 || (f[12].n == 1 && PyTuple_GET_ITEM(modes, f[12].p[0]) == Py_None)) return 0;
            mode = f[12];
        }
        e->r_status = f[2]; e->r_lat = f[3]; e->r_ns = f[4]; e->r_lon = f[5]; e->r_ew = f[6];
        e->r_knots = f[7]; e->r_course = f[8]; e->r_date = f[9]; e->r_mode = mode;
        return 1;
    }
    if (type == T_ZDA) {
        if (nf < 5 || f[2].n != 2 || f[3].n != 2 || f[4].n != 4) return 0;
        if (!all_digits(f[2]) || !all_digits(f[3]) || !all_digits(f[4])) return 0;
        e->z_d = f[2]; e->z_m = f[3]; e->z_y = f[4];
        return 1;
    }
    if (type == T_GST) {
        if (nf < 8 || !number_text(f[6]) || !number_text(f[7])) return 0;
        e->s_lat = f[6]; e->s_lon = f[7];
        return 1;
    }
    return 0;
}

static int lat_in_reach(Span raw) { return raw.n == 0 || (raw.p[0] < '9' && raw.p[2] < '6'); }
static int lon_in_reach(Span raw)
{
    return raw.n == 0 || ((raw.p[0] == '0' || (raw.p[0] == '1' && raw.p[1] < '8')) && raw.p[3] < '6');
}

static PyObject *float_or_none(Span raw, int *ok)
{
    double value;
    if (raw.n == 0) Py_RETURN_NONE;
    if (!to_double(raw, &value)) { *ok = 0; Py_RETURN_NONE; }
    return PyFloat_FromDouble(value);
}

typedef struct {
    PyObject *terminal, *make_fix, *hypot, *modes, *single;
    double mps_per_knot;
    int zda_last; /* the cycle's ZDA comes after its RMC (or it has no RMC): ZDA dates */
} Context;

/* ---------------------------------------------------------------- bind_fix
 * Fix objects built without calling Python: the class registered by bind_fix (a slotted
 * class whose fields are writable object slots, as dataclass(slots=True) makes them) is
 * allocated and its slots filled as object.__new__ + the slot descriptors' __set__ do
 * (Fix.of_checked, in C). */
#define FIX_FIELDS 12
static PyTypeObject *bound_fix = NULL;
static Py_ssize_t fix_offsets[FIX_FIELDS];

static PyObject *bind_fix(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *cls, *names;
    if (!PyArg_ParseTuple(args, "O!O!", &PyType_Type, &cls, &PyTuple_Type, &names)) return NULL;
    PyTypeObject *type = (PyTypeObject *)cls;
    if (PyTuple_GET_SIZE(names) != FIX_FIELDS || type->tp_alloc == NULL) {
        PyErr_SetString(PyExc_ValueError, "bind_fix: a class with 12 fields");
        return NULL;
    }
    Py_ssize_t offsets[FIX_FIELDS];
    for (Py_ssize_t k = 0; k < FIX_FIELDS; k++) {
        PyObject *descr = PyObject_GetAttr(cls, PyTuple_GET_ITEM(names, k));
        if (descr == NULL) return NULL;
        int good = Py_IS_TYPE(descr, &PyMemberDescr_Type);
        if (good) {
            PyMemberDef *member = ((PyMemberDescrObject *)descr)->d_member;
            good = ((PyMemberDescrObject *)descr)->d_common.d_type == type && member->type == T_OBJECT_EX
                   && !(member->flags & READONLY) && member->offset >= (Py_ssize_t)sizeof(PyObject)
                   && member->offset + (Py_ssize_t)sizeof(PyObject *) <= type->tp_basicsize;
            offsets[k] = member->offset;
        }
        Py_DECREF(descr);
        if (!good) {
            PyErr_SetString(PyExc_ValueError, "bind_fix: every field must be an object slot of the class");
            return NULL;
        }
    }
    memcpy(fix_offsets, offsets, sizeof offsets);
    Py_INCREF(cls);
    Py_XSETREF(bound_fix, type);
    Py_RETURN_NONE;
}

/* A new instance of the bound class holding the 12 values (new references taken).
 * When no value is tracked by the cycle collector (numbers, text, None, the empty
 * tuple), the fix cannot be part of a reference cycle and is not tracked either, as
 * Python does for such tuples: the collector's young-generation passes then skip the
 * thousands of fixes a merged replay holds decoded (a tracked value keeps it tracked). */
static PyObject *new_fix(PyObject *const *values)
{
    PyObject *fix = bound_fix->tp_alloc(bound_fix, 0);
    if (fix == NULL) return NULL;
    int atomic = 1;
    for (Py_ssize_t k = 0; k < FIX_FIELDS; k++) {
        PyObject **slot = (PyObject **)((char *)fix + fix_offsets[k]);
        Py_XSETREF(*slot, Py_NewRef(values[k]));
        if (PyObject_GC_IsTracked(values[k])) atomic = 0;
    }
    if (atomic && PyObject_GC_IsTracked(fix)) PyObject_GC_UnTrack(fix);
    return fix;
}

/* The fix of one read epoch (gnss.fastpath.CycleReader._fix); 0: leave it to Python,
 * -1: a Python error. */
static int epoch_fix(const Context *c, const Epoch *e, long long tod, int have_ref, long long ref,
                     PyObject **fix_out, long long *t_out)
{
    if (!lat_in_reach(e->g_lat) || !lon_in_reach(e->g_lon) || !lat_in_reach(e->r_lat) || !lon_in_reach(e->r_lon))
        return 0;
    PyObject *quality = NULL; /* borrowed until the end */
    long long quality_value = 0;
    Span lat_raw = {NULL, 0}, lon_raw = {NULL, 0}, ns = {NULL, 0}, ew = {NULL, 0};
    if (e->r_status.n == 1 && e->r_status.p[0] == 'A') {
        if (e->r_mode.n == 1) {
            quality = PyTuple_GET_ITEM(c->modes, e->r_mode.p[0]);
            if (quality == Py_None) return 0;
            quality_value = PyLong_AsLongLong(quality);
            if (quality_value == -1 && PyErr_Occurred()) return -1;
        } else {
            quality = c->single;
            quality_value = 1;
        }
        lat_raw = e->r_lat; lon_raw = e->r_lon; ns = e->r_ns; ew = e->r_ew;
    }
    PyObject *gga_quality = NULL;
    if (e->g_q.n == 1) {
        quality_value = e->g_q.p[0] - '0';
        gga_quality = PyLong_FromLongLong(quality_value);
        if (gga_quality == NULL) return -1;
    }
    if (e->g_lat.n && e->g_lon.n && !(e->g_q.n == 1 && e->g_q.p[0] == '0')) {
        lat_raw = e->g_lat; lon_raw = e->g_lon; ns = e->g_ns; ew = e->g_ew;
    }
    int have_position = 0;
    double lat = 0.0, lon = 0.0;
    if (quality_value != 0 && lat_raw.n && lon_raw.n) {
        if (!degrees_of(lat_raw, &lat) || !degrees_of(lon_raw, &lon)) goto decline;
        if (ns.n == 1 && ns.p[0] == 'S') lat = -lat;
        if (ew.n == 1 && ew.p[0] == 'W') lon = -lon;
        have_position = 1;
    }
    if ((e->vtg && !(e->r_knots.n && e->r_course.n)) || (e->gsa && !e->g_hdop.n))
        goto decline; /* the reference reads the VTG or GSA then */
    long long t_ms, day = 0;
    int have_day = 0;
    if (e->r_date.n) {
        day = rmc_day(e->r_date, &have_day);
        if (!have_day) goto decline;
    }
    if (e->z_d.n && (!have_day || c->zda_last)) {
        day = zda_day(&e->z_d, &e->z_m, &e->z_y, &have_day);
        if (!have_day) goto decline;
    }
    if (have_day) {
        t_ms = day * MS_PER_DAY + tod;
    } else if (have_ref) {
        t_ms = nearest_instant(tod, ref);
    } else {
        goto decline;
    }
    int ok = 1;
    PyObject *s_lat = NULL, *s_lon = NULL, *acc = NULL;
    PyObject *alt = float_or_none(e->g_alt, &ok);
    PyObject *hdop = float_or_none(e->g_hdop, &ok);
    PyObject *course = float_or_none(e->r_course, &ok);
    PyObject *speed = NULL, *sats = NULL, *py_t = NULL, *py_lat = NULL, *py_lon = NULL;
    if (alt == NULL || hdop == NULL || course == NULL) goto error;
    if (e->r_knots.n) {
        double knots;
        if (!to_double(e->r_knots, &knots)) ok = 0;
        else speed = PyFloat_FromDouble(knots * c->mps_per_knot);
    } else {
        speed = Py_NewRef(Py_None);
    }
    if (e->g_sats.n) {
        long long value = 0;
        for (Py_ssize_t k = 0; k < e->g_sats.n; k++) value = value * 10 + (e->g_sats.p[k] - '0');
        sats = PyLong_FromLongLong(value);
    } else {
        sats = Py_NewRef(Py_None);
    }
    if (!ok) goto cleanup_decline;
    if (speed == NULL || sats == NULL) goto error;
    if (e->s_lat.n && e->s_lon.n) {
        s_lat = float_or_none(e->s_lat, &ok);
        s_lon = float_or_none(e->s_lon, &ok);
        if (s_lat == NULL || s_lon == NULL) goto error;
        if (!ok) goto cleanup_decline;
        PyObject *pair[2] = {s_lat, s_lon};
        acc = PyObject_Vectorcall(c->hypot, pair, 2, NULL);
        if (acc == NULL) goto error;
        double value = PyFloat_AsDouble(acc);
        if (value == -1.0 && PyErr_Occurred()) goto error;
        if (value <= 0) Py_SETREF(acc, Py_NewRef(Py_None));
    } else {
        acc = Py_NewRef(Py_None);
    }
    py_t = PyLong_FromLongLong(t_ms);
    if (py_t == NULL) goto error;
    if (have_position) {
        py_lat = PyFloat_FromDouble(lat);
        py_lon = PyFloat_FromDouble(lon);
        if (py_lat == NULL || py_lon == NULL) goto error;
    } else {
        py_lat = Py_NewRef(Py_None);
        py_lon = Py_NewRef(Py_None);
    }
    {
        PyObject *q = gga_quality != NULL ? gga_quality : (quality != NULL ? quality : NULL);
        PyObject *zero = NULL;
        if (q == NULL) {
            zero = PyLong_FromLong(0);
            if (zero == NULL) goto error;
            q = zero;
        }
        PyObject *empty = PyTuple_New(0);
        if (empty == NULL) { Py_XDECREF(zero); goto error; }
        PyObject *argv[FIX_FIELDS] = {py_t, c->terminal, py_lat, py_lon, q, acc, alt, hdop, sats, speed, course, empty};
        PyObject *fix = c->make_fix == (PyObject *)bound_fix ? new_fix(argv) : PyObject_Vectorcall(c->make_fix, argv, 11, NULL);
        Py_DECREF(empty);
        Py_XDECREF(zero);
        if (fix == NULL) goto error;
        *fix_out = fix;
    }
    *t_out = t_ms;
    Py_XDECREF(gga_quality);
    Py_DECREF(alt); Py_DECREF(hdop); Py_DECREF(course); Py_DECREF(speed); Py_DECREF(sats);
    Py_XDECREF(s_lat); Py_XDECREF(s_lon); Py_DECREF(acc);
    Py_DECREF(py_t); Py_DECREF(py_lat); Py_DECREF(py_lon);
    return 1;
cleanup_decline:
    Py_XDECREF(alt); Py_XDECREF(hdop); Py_XDECREF(course); Py_XDECREF(speed); Py_XDECREF(sats);
    Py_XDECREF(s_lat); Py_XDECREF(s_lon); Py_XDECREF(acc);
    goto decline;
error:
    Py_XDECREF(alt); Py_XDECREF(hdop); Py_XDECREF(course); Py_XDECREF(speed); Py_XDECREF(sats);
    Py_XDECREF(s_lat); Py_XDECREF(s_lon); Py_XDECREF(acc);
    Py_XDECREF(py_t); Py_XDECREF(py_lat); Py_XDECREF(py_lon);
    Py_XDECREF(gga_quality);
    return -1;
decline:
    Py_XDECREF(gga_quality);
    return 0;
}

/* Optional int argument (None or an int that fits in 64 bits). */
static int optional_ll(PyObject *obj, int *have, long long *value)
{
    *have = 0;
    if (obj == Py_None) return 1;
    if (!PyLong_Check(obj)) return 0;
    int overflow = 0;
    long long v = PyLong_AsLongLongAndOverflow(obj, &overflow);
    if (v == -1 && PyErr_Occurred()) return -1;
    if (overflow) return 0;
    *have = 1;
    *value = v;
    return 1;
}

static PyObject *run_cycle(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self;
    if (nargs < 11 || nargs > 13) {
        PyErr_SetString(PyExc_TypeError, "run_cycle takes 11 to 13 arguments");
        return NULL;
    }
    Py_ssize_t limit = -1; /* most epochs to read (-1: no limit) */
    if (nargs >= 12) {
        limit = PyLong_AsSsize_t(args[11]);
        if (limit == -1 && PyErr_Occurred()) return NULL;
    }
    int untimed = 1; /* VTG and GSA bodies may come among an epoch's sentences */
    if (nargs == 13) {
        untimed = PyObject_IsTrue(args[12]);
        if (untimed < 0) return NULL;
    }
    PyObject *items = args[0], *cycle = args[2], *types = args[3];
    PyObject *prev_obj = args[4], *ref_obj = args[5], *out = args[10];
    Context c = {args[6], args[7], args[8], args[9], NULL, 0.0, 0};
    if (!PyList_Check(items) || !PyTuple_Check(cycle) || !PyBytes_Check(types) || !PyList_Check(out)
        || !PyUnicode_Check(c.terminal) || !PyTuple_Check(c.modes) || PyTuple_GET_SIZE(c.modes) != 259) {
        PyErr_SetString(PyExc_TypeError, "run_cycle: bad argument types");
        return NULL;
    }
    /* modes: 256 qualities by mode letter (None: not a letter), then SINGLE, then the
     * speed factor (float) and a spare */
    c.single = PyTuple_GET_ITEM(c.modes, 256);
    c.mps_per_knot = PyFloat_AsDouble(PyTuple_GET_ITEM(c.modes, 257));
    if (c.mps_per_knot == -1.0 && PyErr_Occurred()) return NULL;
    Py_ssize_t start = PyLong_AsSsize_t(args[1]);
    if (start == -1 && PyErr_Occurred()) return NULL;
    Py_ssize_t size = PyTuple_GET_SIZE(cycle);
    if (size < 1 || size > MAX_CYCLE || PyBytes_GET_SIZE(types) != size) {
        PyErr_SetString(PyExc_ValueError, "run_cycle: cycle of 1 to 4 sentences");
        return NULL;
    }
    const unsigned char *type_codes = (const unsigned char *)PyBytes_AS_STRING(types);
    const unsigned char *addresses[MAX_CYCLE];
    Py_ssize_t rmc_at = -1, zda_at = -1;
    for (Py_ssize_t k = 0; k < size; k++) {
        PyObject *address = PyTuple_GET_ITEM(cycle, k);
        if (!PyBytes_Check(address) || PyBytes_GET_SIZE(address) != 5
            || type_codes[k] < T_GGA || type_codes[k] > T_ZDA) {
            PyErr_SetString(PyExc_ValueError, "run_cycle: bad cycle");
            return NULL;
        }
        for (Py_ssize_t j = 0; j < 5; j++) {
            unsigned char letter = (unsigned char)PyBytes_AS_STRING(address)[j];
            if (letter < 'A' || letter > 'Z') { /* the Python reader's shapes never match digits */
                PyErr_SetString(PyExc_ValueError, "run_cycle: addresses of letters only");
                return NULL;
            }
        }
        for (Py_ssize_t j = 0; j < k; j++) {
            if (type_codes[j] == type_codes[k]) {
                PyErr_SetString(PyExc_ValueError, "run_cycle: a sentence type twice in the cycle");
                return NULL;
            }
        }
        if (type_codes[k] == T_RMC) rmc_at = k;
        if (type_codes[k] == T_ZDA) zda_at = k;
        addresses[k] = (const unsigned char *)PyBytes_AS_STRING(address);
    }
    c.zda_last = zda_at >= 0 && (rmc_at < 0 || zda_at > rmc_at);
    int have_prev, have_ref;
    long long prev = 0, ref = 0;
    int r1 = optional_ll(prev_obj, &have_prev, &prev);
    int r2 = optional_ll(ref_obj, &have_ref, &ref);
    if (r1 < 0 || r2 < 0) return NULL;
    Py_ssize_t i = start, epochs = 0;
    if (r1 && r2 && start >= 0) {
        /* a reference instant far from the Gregorian years the dates give is left to Python */
        if (have_ref && (ref > (1LL << 52) || ref < -(1LL << 52))) have_ref = -1;
        while (have_ref >= 0 && i + size <= PyList_GET_SIZE(items) && (limit < 0 || epochs < limit)) {
            Epoch e;
            memset(&e, 0, sizeof e);
            /* the epoch's bodies, held while their text is looked at (make_fix and hypot
             * run Python code, which could change the list) */
            PyObject *held[MAX_CYCLE] = {NULL, NULL, NULL, NULL};
            int read = 1;
            Py_ssize_t j = i; /* the next item */
            for (Py_ssize_t k = 0; k < size && read; j++) {
                if (j >= PyList_GET_SIZE(items)) {
                    read = 0;
                    break;
                }
                PyObject *body = PyList_GET_ITEM(items, j);
                if (untimed && PyBytes_CheckExact(body) && PyBytes_GET_SIZE(body) >= 5) {
                    const char *kind = PyBytes_AS_STRING(body) + 2;
                    if (memcmp(kind, "VTG", 3) == 0) { e.vtg = 1; continue; }
                    if (memcmp(kind, "GSA", 3) == 0) { e.gsa = 1; continue; }
                }
                held[k] = Py_NewRef(body);
                read = read_body(held[k], addresses[k], type_codes[k], &e, k == 0, c.modes);
                k++;
            }
            long long tod = read ? time_of_day(e.time) : -1;
            int got = 0;
            PyObject *fix = NULL;
            long long t_ms = 0;
            if (tod >= 0 && !(have_prev && tod == prev)) got = epoch_fix(&c, &e, tod, have_ref, ref, &fix, &t_ms);
            for (Py_ssize_t k = 0; k < size; k++) Py_XDECREF(held[k]);
            if (got < 0) return NULL;
            if (got == 0) break;
            int err = PyList_Append(out, fix);
            Py_DECREF(fix);
            if (err < 0) return NULL;
            prev = tod; have_prev = 1;
            ref = t_ms; have_ref = 1;
            i = j;
            epochs++;
        }
    }
    if (epochs == 0) return Py_BuildValue("(nnOO)", i, epochs, prev_obj, ref_obj);
    return Py_BuildValue("(nnLL)", i, epochs, prev, ref);
}

/* ---------------------------------------------------------------- merge_into */

/* Heap entries are (replay time, input number) pairs of int64, smallest first: the order
 * heapq.merge gives by (key, input number). */
static int head_less(const long long *h, Py_ssize_t a, Py_ssize_t b)
{
    return h[2 * a] < h[2 * b] || (h[2 * a] == h[2 * b] && h[2 * a + 1] < h[2 * b + 1]);
}

static void sift_down(long long *h, Py_ssize_t n, Py_ssize_t i)
{
    for (;;) {
        Py_ssize_t child = 2 * i + 1;
        if (child >= n) return;
        if (child + 1 < n && head_less(h, child + 1, child)) child++;
        if (!head_less(h, child, i)) return;
        long long key = h[2 * i], order = h[2 * i + 1];
        h[2 * i] = h[2 * child]; h[2 * i + 1] = h[2 * child + 1];
        h[2 * child] = key; h[2 * child + 1] = order;
        i = child;
    }
}

/* The replay time of item p of input o: its recorded arrival instant (keys[o] a list),
 * else its fix's t_ms (keys[o] None; read from the slot run_cycle fills when the fix is
 * of the bound class). 0 with a Python error on anything else. */
static int item_key(PyObject *keys, PyObject *fixes, Py_ssize_t o, Py_ssize_t p, long long *out)
{
    PyObject *rx = PyList_GET_ITEM(keys, o), *value;
    if (rx != Py_None) {
        value = Py_NewRef(PyList_GET_ITEM(rx, p));
    } else {
        PyObject *fix = PyList_GET_ITEM(PyList_GET_ITEM(fixes, o), p);
        if (bound_fix != NULL && Py_IS_TYPE(fix, bound_fix)) {
            value = *(PyObject **)((char *)fix + fix_offsets[0]);
            if (value == NULL) {
                PyErr_SetString(PyExc_AttributeError, "merge_into: a fix without t_ms");
                return 0;
            }
            Py_INCREF(value);
        } else {
            Py_INCREF(fix);
            value = PyObject_GetAttrString(fix, "t_ms");
            Py_DECREF(fix);
            if (value == NULL) return 0;
        }
    }
    int overflow = 0;
    long long key = PyLong_Check(value) ? PyLong_AsLongLongAndOverflow(value, &overflow) : -1;
    int good = PyLong_Check(value) && !overflow && !(key == -1 && PyErr_Occurred());
    Py_DECREF(value);
    if (!good) {
        if (!PyErr_Occurred()) PyErr_SetString(PyExc_OverflowError, "merge_into: a replay time that is not a 64-bit int");
        return 0;
    }
    *out = key;
    return 1;
}

/* Input o's lists checked against the position p of its next item: 1 when p is an item. */
static int input_item(PyObject *keys, PyObject *fixes, Py_ssize_t o, Py_ssize_t p)
{
    PyObject *rx = PyList_GET_ITEM(keys, o), *items = PyList_GET_ITEM(fixes, o);
    if (!PyList_Check(items) || (rx != Py_None && (!PyList_Check(rx) || PyList_GET_SIZE(rx) != PyList_GET_SIZE(items)))
        || p < 0 || p >= PyList_GET_SIZE(items)) {
        PyErr_SetString(PyExc_ValueError, "merge_into: an input's position is not one of its items");
        return 0;
    }
    return 1;
}

/* merge_into(heap, live, keys, fixes, pos, out_fixes, out_rx, limit, settle) -> (live, stop)
 * (see gnss/_scan.pyi and replay.readers._merge_native). */
static PyObject *merge_into(PyObject *self, PyObject *args)
{
    (void)self;
    Py_buffer heap_view, pos_view;
    Py_ssize_t live, limit;
    int settle;
    PyObject *keys, *fixes, *out_fixes, *out_rx;
    if (!PyArg_ParseTuple(args, "w*nO!O!w*O!Oni", &heap_view, &live, &PyList_Type, &keys, &PyList_Type, &fixes,
                          &pos_view, &PyList_Type, &out_fixes, &out_rx, &limit, &settle))
        return NULL;
    PyObject *result = NULL;
    Py_ssize_t width = PyList_GET_SIZE(fixes), stop = -1;
    long long *heap = (long long *)heap_view.buf, *pos = (long long *)pos_view.buf;
    if (PyList_GET_SIZE(keys) != width || live < 0 || live > width || heap_view.len < 16 * live
        || pos_view.len < 8 * width || (out_rx != Py_None && !PyList_Check(out_rx)) || settle < 0 || settle > 2) {
        PyErr_SetString(PyExc_ValueError, "merge_into: inconsistent arguments");
        goto done;
    }
    for (Py_ssize_t k = 0; k < live; k++) {
        if (heap[2 * k + 1] < 0 || heap[2 * k + 1] >= width) {
            PyErr_SetString(PyExc_ValueError, "merge_into: a heap entry names no input");
            goto done;
        }
    }
    if (settle != 0 && live > 0) {
        if (settle == 2) { /* the head's input ended */
            live--;
            heap[0] = heap[2 * live]; heap[1] = heap[2 * live + 1];
        } else { /* the head's input has a new batch: its first item is the head */
            Py_ssize_t o = (Py_ssize_t)heap[1];
            if (!input_item(keys, fixes, o, (Py_ssize_t)pos[o]) || !item_key(keys, fixes, o, (Py_ssize_t)pos[o], &heap[0]))
                goto done;
        }
        sift_down(heap, live, 0);
    }
    int recorded = out_rx != Py_None;
    while (live > 0 && PyList_GET_SIZE(out_fixes) < limit) {
        Py_ssize_t o = (Py_ssize_t)heap[1], p = (Py_ssize_t)pos[o];
        if ((PyList_GET_ITEM(keys, o) != Py_None) != recorded) {
            stop = -2; /* the head is of the other kind: a new batch */
            break;
        }
        if (!input_item(keys, fixes, o, p)) goto done;
        if (PyList_Append(out_fixes, PyList_GET_ITEM(PyList_GET_ITEM(fixes, o), p)) < 0) goto done;
        if (recorded && PyList_Append(out_rx, PyList_GET_ITEM(PyList_GET_ITEM(keys, o), p)) < 0) goto done;
        pos[o] = ++p;
        if (p >= PyList_GET_SIZE(PyList_GET_ITEM(fixes, o))) {
            stop = o; /* used up: Python loads its next batch, then settles the head */
            break;
        }
        if (!item_key(keys, fixes, o, p, &heap[0])) goto done;
        sift_down(heap, live, 0);
    }
    result = Py_BuildValue("(nn)", live, stop);
done:
    PyBuffer_Release(&heap_view);
    PyBuffer_Release(&pos_view);
    return result;
}

static PyMethodDef methods[] = {
    {"bind_fix", bind_fix, METH_VARARGS,
     "bind_fix(cls, field_names): run_cycle builds instances of cls itself when make_fix is cls."},
    {"frame_clean", frame_clean, METH_VARARGS,
     "frame_clean(buf, keep) -> (bodies, indexes | None, lines) | None: a chunk of whole clean lines."},
    {"run_cycle", (PyCFunction)(void (*)(void))run_cycle, METH_FASTCALL,
     "run_cycle(items, start, cycle, types, prev_tod, ref_ms, terminal, make_fix, hypot, table, out"
     "[, limit[, untimed]]) -> (index, epochs, prev_tod, ref_ms): whole epochs of a cycle of GGA, RMC,"
     " GST, ZDA into fixes."},
    {"merge_into", merge_into, METH_VARARGS,
     "merge_into(heap, live, keys, fixes, pos, out_fixes, out_rx, limit, settle) -> (live, stop): items of"
     " batched inputs in (replay time, input number) order into a batch."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "gnss._scan", "The NMEA fast path's inner loops in C.", -1, methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__scan(void) { return PyModule_Create(&module); }
