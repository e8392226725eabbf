"""The Rust, Java and JavaScript harnesses (see `cpp` for the shape and `wire` for the text
they exchange with the host)."""

from __future__ import annotations

import re

from vibe_ls.verify.harness.signatures import Signature

RUST_RUNTIME = r'''
mod vibe_ls_harness {
    pub struct In { pub d: Vec<u8>, pub p: usize }
    impl In {
        fn skip(&mut self) {
            while self.p < self.d.len() && self.d[self.p].is_ascii_whitespace() { self.p += 1; }
        }
        pub fn tok(&mut self) -> String {
            self.skip();
            let s = self.p;
            while self.p < self.d.len() && !self.d[self.p].is_ascii_whitespace()
                && self.d[self.p] != b':' { self.p += 1; }
            String::from_utf8_lossy(&self.d[s..self.p]).into_owned()
        }
    }
    pub trait Wire: Sized { fn rd(i: &mut In) -> Self; fn wr(&self, o: &mut String); }
    macro_rules! numbers { ($($t:ty),*) => { $(
        impl Wire for $t {
            fn rd(i: &mut In) -> Self { i.tok().parse().unwrap() }
            fn wr(&self, o: &mut String) { o.push_str(&format!("{:?}", self)); }
        }
    )* } }
    numbers!(i8, i16, i32, i64, i128, isize, u8, u16, u32, u64, u128, usize, f32, f64);
    impl Wire for bool {
        fn rd(i: &mut In) -> Self { i.tok() != "0" }
        fn wr(&self, o: &mut String) { o.push_str(if *self { "1" } else { "0" }); }
    }
    impl Wire for String {
        fn rd(i: &mut In) -> Self {
            let n: usize = i.tok().parse().unwrap();
            i.p += 1;
            let s = String::from_utf8_lossy(&i.d[i.p..i.p + n]).into_owned();
            i.p += n;
            s
        }
        fn wr(&self, o: &mut String) { o.push_str(&format!("{}:{}", self.len(), self)); }
    }
    impl Wire for char {
        fn rd(i: &mut In) -> Self { String::rd(i).chars().next().unwrap_or('\0') }
        fn wr(&self, o: &mut String) { self.to_string().wr(o); }
    }
    impl Wire for () {
        fn rd(_: &mut In) -> Self {}
        fn wr(&self, o: &mut String) { o.push('-'); }
    }
    impl<T: Wire> Wire for Vec<T> {
        fn rd(i: &mut In) -> Self {
            let n: usize = i.tok().parse().unwrap();
            (0..n).map(|_| T::rd(i)).collect()
        }
        fn wr(&self, o: &mut String) {
            o.push_str(&self.len().to_string());
            for x in self { o.push(' '); x.wr(o); }
        }
    }
}

fn main() {
    use std::io::{Read, Write};
    use vibe_ls_harness::{In, Wire};
    std::panic::set_hook(Box::new(|_| {}));
    let mut d = Vec::new();
    std::io::stdin().read_to_end(&mut d).unwrap();
    let mut i = In { d, p: 0 };
    let mode = i.tok();
    let count: usize = i.tok().parse().unwrap();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let now = std::time::Instant::now();
    if mode == "C" || mode == "D" {
        for _ in 0..count {
            @READ@
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| @CALL@));
            let mut o = String::new();
            match r {
                Ok(v) => {
                    o.push_str("ok ");
                    v.wr(&mut o);
                    if mode == "D" { @LEFT@ }
                }
                Err(_) => { o.push_str("err "); String::from("panic").wr(&mut o); }
            }
            o.push('\n');
            out.write_all(o.as_bytes()).unwrap();
            out.flush().unwrap();
        }
        return;
    }
    let budget: f64 = i.tok().parse().unwrap();
    let cap: f64 = i.tok().parse().unwrap();
    let floor: f64 = i.tok().parse().unwrap();
    let (mut previous, mut fitted) = (0.0f64, 0);
    for _ in 0..count {
        let n: u64 = i.tok().parse().unwrap();
        let (start, mut end) = (i.p, i.p);
        let (mut calls, mut best) = (1usize, f64::INFINITY);
        for _ in 0..5 {
            let mut copies = Vec::with_capacity(calls);
            for _ in 0..calls {
                i.p = start;
                @READ@
                copies.push((@NAMES@));
            }
            end = i.p;
            let t0 = std::time::Instant::now();
            let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                for c in copies.into_iter() {
                    #[allow(unused_mut)]
                    let (@MUT_NAMES@) = c;
                    std::hint::black_box(@CALL@);
                }
            }));
            if ran.is_err() { return; }
            let elapsed = t0.elapsed().as_secs_f64();
            best = best.min(elapsed / calls as f64);
            if elapsed < 0.002 {
                let bytes = std::cmp::max(1, end - start);
                calls = (calls * 4).min(1 << 20).min(std::cmp::max(1, (1usize << 20) / bytes));
            }
            if elapsed > cap { break; }
        }
        i.p = end;
        writeln!(out, "t {} {:e}", n, best).unwrap();
        out.flush().unwrap();
        fitted = if best >= floor { fitted + 1 } else { 0 };
        if best > cap || now.elapsed().as_secs_f64() > budget || fitted >= 5 { break; }
        if previous > 0.0 && best * (best / previous) > 4.0 * cap { break; }
        previous = best;
    }
}
'''

_RUST_MAIN = re.compile(r"\bfn\s+main\s*\(")


def rust_program(source: str, signature: Signature) -> str:
    names = [f"a{i}" for i in range(len(signature.params))]
    read = " ".join(f"let mut {n}: {p.native} = Wire::rd(&mut i);"
                    for p, n in zip(signature.params, names, strict=True))
    args = ", ".join({"ref": f"&{n}", "mut": f"&mut {n}"}.get(p.passing, n)
                     for p, n in zip(signature.params, names, strict=True))
    callee = f"{signature.owner}::{signature.name}" if signature.owner else signature.name
    tuple_names = ", ".join(names) + ("," if len(names) == 1 else "")
    # mode D (the rewrite check) also writes back what the call left in its `&mut` borrows
    left = " ".join(f"o.push(' '); {n}.wr(&mut o);"
                    for p, n in zip(signature.params, names, strict=True) if p.passing == "mut")
    harness = (RUST_RUNTIME.replace("@READ@", read).replace("@CALL@", f"{callee}({args})")
               .replace("@LEFT@", left)
               .replace("@NAMES@", tuple_names)
               .replace("@MUT_NAMES@", ", ".join(f"mut {n}" for n in names)
                        + ("," if len(names) == 1 else "")))
    body = _RUST_MAIN.sub("fn vibe_ls_user_main(", source)
    return "#![allow(warnings)]\n" + body + "\n" + harness


JAVA_RUNTIME = r'''
import java.nio.charset.StandardCharsets;
import java.util.*;

public class VibeLsHarness {
    static byte[] d;
    static int p;
    static void skip() { while (p < d.length && d[p] <= ' ') p++; }
    static String tok() {
        skip();
        int s = p;
        while (p < d.length && d[p] > ' ' && d[p] != ':') p++;
        return new String(d, s, p - s, StandardCharsets.UTF_8);
    }
    static long rdLong() { return Long.parseLong(tok()); }
    static double rdDouble() { return Double.parseDouble(tok()); }
    static boolean rdBool() { return !tok().equals("0"); }
    static String rdStr() {
        int n = Integer.parseInt(tok());
        p++;
        String s = new String(d, p, n, StandardCharsets.UTF_8);
        p += n;
        return s;
    }
    static void wrStr(StringBuilder o, String s) {
        o.append(s.getBytes(StandardCharsets.UTF_8).length).append(':').append(s);
    }
    static void wr(StringBuilder o, Object v) {
        if (v instanceof Boolean b) o.append(b ? "1" : "0");
        else if (v instanceof Character c) wrStr(o, String.valueOf(c));
        else if (v instanceof String s) wrStr(o, s);
        else if (v instanceof Double || v instanceof Float) o.append(((Number) v).doubleValue());
        else if (v instanceof Number n) o.append(n.longValue());
        else if (v instanceof int[] a) {
            o.append(a.length);
            for (int x : a) o.append(' ').append(x);
        } else if (v instanceof long[] a) {
            o.append(a.length);
            for (long x : a) o.append(' ').append(x);
        } else if (v instanceof double[] a) {
            o.append(a.length);
            for (double x : a) o.append(' ').append(x);
        } else if (v instanceof boolean[] a) {
            o.append(a.length);
            for (boolean x : a) o.append(x ? " 1" : " 0");
        } else if (v instanceof char[] a) {
            o.append(a.length);
            for (char x : a) { o.append(' '); wrStr(o, String.valueOf(x)); }
        } else if (v instanceof Object[] a) {
            o.append(a.length);
            for (Object x : a) { o.append(' '); wr(o, x); }
        } else if (v instanceof List<?> a) {
            o.append(a.size());
            for (Object x : a) { o.append(' '); wr(o, x); }
        } else throw new IllegalArgumentException("cannot write " + v);
    }
    static void emit(String s) {
        System.out.print(s);
        System.out.flush();
    }
    @READERS@
    public static void main(String[] args) throws Exception {
        d = System.in.readAllBytes();
        String mode = tok();
        long count = rdLong();
        if (mode.equals("C")) {
            for (long i = 0; i < count; i++) {
                @READ@
                StringBuilder o = new StringBuilder();
                try {
                    Object r = @CALL@;
                    o.append("ok ");
                    wr(o, r);
                } catch (Throwable e) {
                    o.setLength(0);
                    o.append("err ");
                    wrStr(o, e.getClass().getSimpleName());
                }
                emit(o.append('\n').toString());
            }
            return;
        }
        double budget = rdDouble(), cap = rdDouble(), floor = rdDouble();
        long started = System.nanoTime();
        double previous = 0;
        int fitted = 0;
        Object sink = null;
        for (long i = 0; i < count; i++) {
            long n = rdLong();
            int start = p, end = p;
            int calls = 1;
            double best = Double.POSITIVE_INFINITY;
            try {
                for (int round = 0; round < 5; round++) {
                    Object[][] copies = new Object[calls][];
                    for (int j = 0; j < calls; j++) {
                        p = start;
                        @READ@
                        copies[j] = new Object[] {@NAMES@};
                    }
                    end = p;
                    long t0 = System.nanoTime();
                    for (Object[] c : copies) sink = @TIMED_CALL@;
                    double elapsed = (System.nanoTime() - t0) * 1e-9;
                    best = Math.min(best, elapsed / calls);
                    if (elapsed < 0.002) {
                        int bytes = Math.max(1, end - start);
                        calls = Math.min(Math.min(calls * 4, 1 << 20),
                                         Math.max(1, (1 << 20) / bytes));
                    }
                    if (elapsed > cap) break;
                }
            } catch (Throwable e) {
                return;
            }
            p = end;
            emit("t " + n + " " + best + "\n");
            fitted = best >= floor ? fitted + 1 : 0;
            if (best > cap || (System.nanoTime() - started) * 1e-9 > budget || fitted >= 5) break;
            if (previous > 0 && best * (best / previous) > 4 * cap) break;
            previous = best;
        }
        if (sink == d) System.out.print("");
    }
}
'''

_JAVA_SCALARS = {"int": "(int) rdLong()", "Integer": "(int) rdLong()", "long": "rdLong()",
                 "Long": "rdLong()", "short": "(short) rdLong()", "Short": "(short) rdLong()",
                 "byte": "(byte) rdLong()", "Byte": "(byte) rdLong()", "double": "rdDouble()",
                 "Double": "rdDouble()", "float": "(float) rdDouble()",
                 "Float": "(float) rdDouble()", "boolean": "rdBool()", "Boolean": "rdBool()",
                 "char": "rdStr().charAt(0)", "Character": "rdStr().charAt(0)",
                 "String": "rdStr()"}


def _java_reader(native: str, helpers: dict[str, str]) -> str:
    """An expression that reads a `native` value, adding the helper methods it needs."""
    native = native.replace(" ", "")
    if native in _JAVA_SCALARS:
        return _JAVA_SCALARS[native]
    name = "rd_" + re.sub(r"\W", "_", native.replace("[]", "Arr"))
    if name not in helpers:
        helpers[name] = ""  # reserved: nested types may recurse through here
        if native.endswith("[]"):
            item = native[:-2]
            base = item.split("[")[0]
            dims = item.count("[]")
            body = (f"int n = (int) rdLong(); {native} v = new {base}[n]{'[]' * dims}; "
                    f"for (int k = 0; k < n; k++) v[k] = {_java_reader(item, helpers)}; "
                    "return v;")
        else:
            item = re.fullmatch(r"(?:java\.util\.)?(?:List|ArrayList)<(.+)>", native).group(1)
            body = (f"int n = (int) rdLong(); {native} v = new ArrayList<>(); "
                    f"for (int k = 0; k < n; k++) v.add({_java_reader(item, helpers)}); "
                    "return v;")
        helpers[name] = f"static {native} {name}() {{ {body} }}"
    return f"{name}()"


_BOXED = {"int": "Integer", "long": "Long", "short": "Short", "byte": "Byte",
          "double": "Double", "float": "Float", "boolean": "Boolean", "char": "Character"}


def java_program(source: str, signature: Signature) -> dict[str, str]:
    """The files to compile: the user's class (under its public name) and the harness."""
    helpers: dict[str, str] = {}
    names = [f"a{i}" for i in range(len(signature.params))]
    read = " ".join(f"{p.native} {n} = {_java_reader(p.native, helpers)};"
                    for p, n in zip(signature.params, names, strict=True))
    callee = (f"{signature.owner}.{signature.name}" if signature.static
              else f"new {signature.owner}().{signature.name}")
    casts = ", ".join(f"({_BOXED.get(p.native, p.native)}) c[{i}]"
                      for i, p in enumerate(signature.params))
    harness = (JAVA_RUNTIME.replace("@READERS@", "\n    ".join(helpers.values()))
               .replace("@READ@", read).replace("@CALL@", f"{callee}({', '.join(names)})")
               .replace("@NAMES@", ", ".join(names))
               .replace("@TIMED_CALL@", f"{callee}({casts})"))
    body = re.sub(r"^\s*package\s+[\w.]+\s*;", "", source, count=1, flags=re.MULTILINE)
    public = re.search(r"\bpublic\s+(?:final\s+|abstract\s+)*class\s+(\w+)", body)
    user_file = f"{public.group(1)}.java" if public else "VibeLsUser.java"
    return {user_file: body, "VibeLsHarness.java": harness}


JS_RUNTIME = r'''
;(() => {
  const fs = typeof process.getBuiltinModule === "function"
    ? process.getBuiltinModule("fs") : require("fs");
  const request = JSON.parse(fs.readFileSync(0, "utf8"));
  const f = @FUNCTION@;
  const plain = (v) => v instanceof Set ? [...v].map(plain)
    : ArrayBuffer.isView(v) ? Array.from(v)
    : Array.isArray(v) ? v.map(plain)
    : typeof v === "bigint" ? Number(v) : v;
  const emit = (o) => fs.writeSync(1, JSON.stringify(o) + "\n");
  if (request.mode === "C" || request.mode === "D") {
    for (const args of request.calls) {
      try {
        const value = plain(f(...args));
        const ok = value === undefined ? null : value;
        emit(request.mode === "D" ? { ok, args: plain(args) } : { ok });
      } catch (e) {
        emit({ err: (e && e.constructor && e.constructor.name) || "Error" });
      }
    }
    return;
  }
  const now = () => Number(process.hrtime.bigint()) * 1e-9;
  const started = now();
  let previous = 0, fitted = 0, sink = null;
  for (const [n, text] of request.sizes) {
    let calls = 1, best = Infinity;
    try {
      for (let round = 0; round < 5; round++) {
        const copies = [];
        for (let j = 0; j < calls; j++) copies.push(JSON.parse(text));
        const t0 = now();
        for (const args of copies) sink = f(...args);
        const elapsed = now() - t0;
        best = Math.min(best, elapsed / calls);
        if (elapsed < 0.002) {
          calls = Math.min(calls * 4, 1 << 20, Math.max(1, Math.floor((1 << 20) / text.length)));
        }
        if (elapsed > request.cap) break;
      }
    } catch (e) {
      return;
    }
    emit({ t: [n, best] });
    fitted = best >= request.floor ? fitted + 1 : 0;
    if (best > request.cap || now() - started > request.budget || fitted >= 5) break;
    if (previous > 0 && best * (best / previous) > 4 * request.cap) break;
    previous = best;
  }
  if (sink === request) emit({});
})();
'''

_ES_MODULE = re.compile(r"^\s*(import|export)\b", re.MULTILINE)


def js_program(source: str, signature: Signature) -> tuple[str, str]:
    """(file name, text): an ES module when the user's file is one."""
    if signature.owner is None:
        function = signature.name
    elif signature.static:
        function = f"{signature.owner}.{signature.name}.bind({signature.owner})"
    else:
        function = (f"((...args) => {{ const o = new {signature.owner}(); "
                    f"return o.{signature.name}(...args); }})")
    name = "main.mjs" if _ES_MODULE.search(source) else "main.js"
    return name, source + "\n" + JS_RUNTIME.replace("@FUNCTION@", function)
