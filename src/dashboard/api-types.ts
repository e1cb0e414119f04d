/**
 * The API's answers as the dashboard reads them: the types inferred from the zod schemas the routes answer
 * with (type-only imports: no zod in the page's bundle).
 */
import type { z } from "zod";
import type {
  BackfillStarted,
  BackfillsResponse,
  HistoryResponse,
  PipelineSummarySchema,
  PipelinesResponse,
  RejectedResponse,
  RetryResponse,
  RunSchema,
  ScheduleResponse,
  ScheduleViewSchema,
  SlotEntrySchema,
  SlotsResponse,
  StageRunSchema,
  StatsResponse,
  TriggerResponse,
} from "../routes/responses";

export type PipelineSummary = z.output<typeof PipelineSummarySchema>;
export type Pipelines = z.output<typeof PipelinesResponse>;
export type Run = z.output<typeof RunSchema>;
export type StageRun = z.output<typeof StageRunSchema>;
export type History = z.output<typeof HistoryResponse>;
export type ScheduleView = z.output<typeof ScheduleViewSchema>;
export type Schedules = z.output<typeof ScheduleResponse>;
export type SlotEntry = z.output<typeof SlotEntrySchema>;
export type Slots = z.output<typeof SlotsResponse>;
export type Stats = z.output<typeof StatsResponse>;
export type StatsPoint = Stats["series"][number];
export type Backfills = z.output<typeof BackfillsResponse>;
export type BackfillSummary = Backfills["backfills"][number];
export type BackfillStart = z.output<typeof BackfillStarted>;
export type Rejected = z.output<typeof RejectedResponse>;
export type TriggerStart = z.output<typeof TriggerResponse>;
export type RetryStart = z.output<typeof RetryResponse>;
