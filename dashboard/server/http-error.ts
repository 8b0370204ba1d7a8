/**
 * HTTP-level failures of the dashboard API. They are answers to a client (bad parameter,
 * missing token, wrong role, unknown alert), not pipeline errors, so they carry an HTTP status
 * and are rendered as `{ error, message }` by the error handler in app.ts.
 */
export class HttpError extends Error {
  constructor(readonly statusCode: 400 | 401 | 403 | 404 | 409 | 503, readonly error: string, message: string) {
    super(message);
    this.name = 'HttpError';
  }
}

export const badRequest = (message: string): HttpError => new HttpError(400, 'bad_request', message);
export const notFound = (message: string): HttpError => new HttpError(404, 'not_found', message);
