/** An expected failure of a stage (a source answering 500, a malformed payload): reported, not logged as a bug. */
export class StageFailure extends Error {
  override readonly name = "StageFailure";
}
