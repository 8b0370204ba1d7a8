// Loaded by mocha before anything else: quieter logs under test (warn and above).
process.env.NODE_ENV ??= 'test';
process.env.TAPLINE_LOG_FORMAT ??= 'json';
