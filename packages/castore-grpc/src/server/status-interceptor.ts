import { ConnectError, type Interceptor } from "@connectrpc/connect";
import { callRecord } from "./call-record.js";
import { nodeRequestOf } from "./connect-routes.js";

/**
 * Tells an observed call's record the status Connect answers it with: OK when the handler returns
 * (or its response stream ends), the error's code when it throws. Calls without a record pass
 * through untouched.
 */
export const recordStatus: Interceptor = (next) => async (request) => {
  const nodeRequest = nodeRequestOf(request.contextValues);
  const record = nodeRequest && callRecord(nodeRequest);
  if (!record) return next(request);
  try {
    const response = await next(request);
    if (!response.stream) {
      record.setCode(0);
      return response;
    }
    const messages = response.message;
    return {
      ...response,
      message: (async function* () {
        try {
          yield* messages;
          record.setCode(0);
        } catch (error) {
          record.setCode(ConnectError.from(error).code);
          throw error;
        }
      })(),
    };
  } catch (error) {
    record.setCode(ConnectError.from(error).code);
    throw error;
  }
};
