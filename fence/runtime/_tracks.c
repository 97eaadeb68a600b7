/* Track recording lines in C: fence.runtime._tracks.track_lines(fixes, rx_ms, fallback).
 *
 * The live engine writes one JSON line per accepted fix (fence/runtime/tracks.py,
 * track_line); at 10,000 fixes/s formatting those lines in Python was ~6 us a fix, the
 * largest single cost of the engine's evaluation step. This builds the same bytes:
 *
 *   {"t": "<t>", "terminal": "<id>", "lat": <lat>, "lon": <lon>, "quality": <q>
 *    [, "acc": ..][, "alt": ..][, "hdop": ..][, "sats": ..][, "speed": ..][, "course": ..],
 *    "rx": "<rx>"}\n
 *
 * with floats as repr() writes them (PyOS_double_to_string, mode 'r', what float.__repr__
 * and json.dumps use) and instants as gnss.instant.format_instant writes them. Any fix it
 * does not handle exactly - an instant before 1970 or after 9999, a terminal id that JSON
 * would escape, a value that is not an exact float or int, a non-finite float - is
 * formatted by ``fallback(fix, rx_ms)`` (the Python track_line) instead, so the output is
 * byte-equal to the Python function for every fix (checked by property tests).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#define MS_PER_DAY 86400000LL
#define MAX_T_MS 253402300800000LL /* 10000-01-01T00:00:00Z */

typedef struct {
    char *data;
    Py_ssize_t len;
    Py_ssize_t cap;
} Buffer;

static int buf_reserve(Buffer *b, Py_ssize_t more) {
    if (b->len + more <= b->cap) return 0;
    Py_ssize_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + more) cap *= 2;
    char *data = PyMem_Realloc(b->data, (size_t)cap);
    if (data == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    b->data = data;
    b->cap = cap;
    return 0;
}

static int buf_add(Buffer *b, const char *text, Py_ssize_t n) {
    if (buf_reserve(b, n) < 0) return -1;
    memcpy(b->data + b->len, text, (size_t)n);
    b->len += n;
    return 0;
}

static int buf_str(Buffer *b, const char *text) { return buf_add(b, text, (Py_ssize_t)strlen(text)); }

/* Days since 1970-01-01 to a civil date (proleptic Gregorian; H. Hinnant's algorithm). */
static void civil_from_days(long long z, int *y, int *m, int *d) {
    z += 719468;
    long long era = (z >= 0 ? z : z - 146096) / 146097;
    long long doe = z - era * 146097;
    long long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    long long year = yoe + era * 400;
    long long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    long long mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(year + (*m <= 2));
}

/* ``YYYY-MM-DDThh:mm:ss.sssZ`` (24 characters) into out; 0 when t_ms is outside 1970..9999. */
static int format_instant(long long t_ms, char out[48]) {
    if (t_ms < 0 || t_ms >= MAX_T_MS) return 0;
    long long days = t_ms / MS_PER_DAY, rest = t_ms % MS_PER_DAY;
    int y, mo, d;
    civil_from_days(days, &y, &mo, &d);
    int ms = (int)(rest % 1000), s = (int)(rest / 1000 % 60), mi = (int)(rest / 60000 % 60);
    int h = (int)(rest / 3600000);
    snprintf(out, 48, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", y, mo, d, h, mi, s, ms);
    return 1;
}

/* A float as repr() writes it; 0 when not an exact finite float. */
static int add_float(Buffer *b, PyObject *value) {
    if (!PyFloat_CheckExact(value)) return 0;
    double x = PyFloat_AS_DOUBLE(value);
    if (!isfinite(x)) return 0;
    char *text = PyOS_double_to_string(x, 'r', 0, Py_DTSF_ADD_DOT_0, NULL);
    if (text == NULL) return -1;
    int rc = buf_str(b, text) < 0 ? -1 : 1;
    PyMem_Free(text);
    return rc;
}

/* A number as tracks._number writes it: an exact float, an exact int; 0 otherwise. */
static int add_number(Buffer *b, PyObject *value) {
    if (PyFloat_CheckExact(value)) return add_float(b, value);
    if (!PyLong_CheckExact(value)) return 0;
    int overflow = 0;
    long long n = PyLong_AsLongLongAndOverflow(value, &overflow);
    if (overflow) return 0;
    if (n == -1 && PyErr_Occurred()) return -1;
    char text[32];
    snprintf(text, sizeof text, "%lld", n);
    return buf_str(b, text) < 0 ? -1 : 1;
}

/* The terminal id as json.dumps writes it, when that needs no escape; 0 otherwise. */
static int add_terminal(Buffer *b, PyObject *terminal) {
    if (!PyUnicode_CheckExact(terminal) || !PyUnicode_IS_ASCII(terminal)) return 0;
    Py_ssize_t n = PyUnicode_GET_LENGTH(terminal);
    const char *text = (const char *)PyUnicode_1BYTE_DATA(terminal);
    for (Py_ssize_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c < 0x20 || c == '"' || c == '\\' || c == 0x7f) return 0;
    }
    if (buf_add(b, "\"", 1) < 0 || buf_add(b, text, n) < 0 || buf_add(b, "\"", 1) < 0) return -1;
    return 1;
}

static PyObject *name_t, *name_terminal, *name_lat, *name_lon, *name_quality;
static PyObject *optional_names[6];
static const char *optional_keys[6] = {", \"acc\": ", ", \"alt\": ", ", \"hdop\": ",
                                       ", \"sats\": ", ", \"speed\": ", ", \"course\": "};

/* "lat"/"lon": a float, or null for no position. */
static int add_coordinate(Buffer *b, PyObject *value) {
    if (value == Py_None) return buf_str(b, "null") < 0 ? -1 : 1;
    return add_float(b, value);
}

/* Everything of the line after "quality": the receiver details present. */
static int add_optional(Buffer *b, PyObject *fix) {
    for (int i = 0; i < 6; i++) {
        PyObject *value = PyObject_GetAttr(fix, optional_names[i]);
        if (value == NULL) return -1;
        int rc = 1;
        if (value != Py_None) {
            rc = buf_str(b, optional_keys[i]) < 0 ? -1 : add_number(b, value);
        }
        Py_DECREF(value);
        if (rc <= 0) return rc;
    }
    return 1;
}

/* One whole line into b; 0 (b unchanged) when the fallback must format it. */
static int add_line(Buffer *b, PyObject *fix, const char *rx_text) {
    Py_ssize_t start = b->len;
    PyObject *t = NULL, *terminal = NULL, *lat = NULL, *lon = NULL, *quality = NULL;
    int rc = -1;
    char t_text[48];
    long long t_ms;
    long q;
    if (!(t = PyObject_GetAttr(fix, name_t)) || !(terminal = PyObject_GetAttr(fix, name_terminal))
        || !(lat = PyObject_GetAttr(fix, name_lat)) || !(lon = PyObject_GetAttr(fix, name_lon))
        || !(quality = PyObject_GetAttr(fix, name_quality)))
        goto done;
    rc = 0;
    if (!PyLong_CheckExact(t)) goto done;
    t_ms = PyLong_AsLongLong(t);
    if (t_ms == -1 && PyErr_Occurred()) {
        PyErr_Clear();
        goto done;
    }
    if (!format_instant(t_ms, t_text) || !PyLong_Check(quality)) goto done;
    q = PyLong_AsLong(quality);
    if (q == -1 && PyErr_Occurred()) {
        PyErr_Clear();
        goto done;
    }
    char q_text[32];
    snprintf(q_text, sizeof q_text, "%ld", q);
    rc = -1;
    if (buf_str(b, "{\"t\": \"") < 0 || buf_str(b, t_text) < 0 || buf_str(b, "\", \"terminal\": ") < 0)
        goto done;
    if ((rc = add_terminal(b, terminal)) <= 0) goto done;
    rc = -1;
    if (buf_str(b, ", \"lat\": ") < 0) goto done;
    if ((rc = add_coordinate(b, lat)) <= 0) goto done;
    rc = -1;
    if (buf_str(b, ", \"lon\": ") < 0) goto done;
    if ((rc = add_coordinate(b, lon)) <= 0) goto done;
    rc = -1;
    if (buf_str(b, ", \"quality\": ") < 0 || buf_str(b, q_text) < 0) goto done;
    if ((rc = add_optional(b, fix)) <= 0) goto done;
    rc = -1;
    if (buf_str(b, ", \"rx\": \"") < 0 || buf_str(b, rx_text) < 0 || buf_str(b, "\"}\n") < 0) goto done;
    rc = 1;
done:
    if (rc <= 0) b->len = start;
    Py_XDECREF(t);
    Py_XDECREF(terminal);
    Py_XDECREF(lat);
    Py_XDECREF(lon);
    Py_XDECREF(quality);
    return rc;
}

static int add_fallback(Buffer *b, PyObject *fallback, PyObject *fix, PyObject *rx) {
    PyObject *line = PyObject_CallFunctionObjArgs(fallback, fix, rx, NULL);
    if (line == NULL) return -1;
    if (!PyBytes_Check(line)) {
        PyErr_SetString(PyExc_TypeError, "track_lines: the fallback must return bytes");
        Py_DECREF(line);
        return -1;
    }
    int rc = buf_add(b, PyBytes_AS_STRING(line), PyBytes_GET_SIZE(line));
    Py_DECREF(line);
    return rc;
}

static PyObject *track_lines(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *fixes, *rx, *fallback;
    if (!PyArg_ParseTuple(args, "OO!O:track_lines", &fixes, &PyLong_Type, &rx, &fallback)) return NULL;
    long long rx_ms = PyLong_AsLongLong(rx);
    if (rx_ms == -1 && PyErr_Occurred()) return NULL;
    char rx_text[48];
    int rx_ok = format_instant(rx_ms, rx_text);
    PyObject *seq = PySequence_Fast(fixes, "track_lines: fixes must be a sequence");
    if (seq == NULL) return NULL;
    Buffer b = {NULL, 0, 0};
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    PyObject **items = PySequence_Fast_ITEMS(seq);
    for (Py_ssize_t i = 0; i < n; i++) {
        int rc = rx_ok ? add_line(&b, items[i], rx_text) : 0;
        if (rc == 0) rc = add_fallback(&b, fallback, items[i], rx) < 0 ? -1 : 1;
        if (rc < 0) {
            PyMem_Free(b.data);
            Py_DECREF(seq);
            return NULL;
        }
    }
    Py_DECREF(seq);
    PyObject *out = PyBytes_FromStringAndSize(b.data ? b.data : "", b.len);
    PyMem_Free(b.data);
    return out;
}

static PyMethodDef methods[] = {
    {"track_lines", track_lines, METH_VARARGS,
     "track_lines(fixes, rx_ms, fallback) -> bytes: the recording lines of fixes that "
     "arrived at rx_ms; fallback(fix, rx_ms) formats any line this does not."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "fence.runtime._tracks", "Track recording lines in C.", -1, methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__tracks(void) {
    static const char *names[6] = {"acc_m", "alt_m", "hdop", "sats", "speed_mps", "course_deg"};
    name_t = PyUnicode_InternFromString("t_ms");
    name_terminal = PyUnicode_InternFromString("terminal");
    name_lat = PyUnicode_InternFromString("lat");
    name_lon = PyUnicode_InternFromString("lon");
    name_quality = PyUnicode_InternFromString("quality");
    if (!name_t || !name_terminal || !name_lat || !name_lon || !name_quality) return NULL;
    for (int i = 0; i < 6; i++) {
        optional_names[i] = PyUnicode_InternFromString(names[i]);
        if (optional_names[i] == NULL) return NULL;
    }
    return PyModule_Create(&module);
}
