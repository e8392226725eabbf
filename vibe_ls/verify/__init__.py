"""Everything that runs model-written code, in one place: the sandbox it runs in
(`sandbox`, `jail`), the checks and examples (`checks`), input growth and timing (`growth`),
the harness for other languages (`harness`), choosing among candidates (`verifier`), and the
rewrite check against the user's code (`rewrite`, `differential`, `symbolic`)."""
