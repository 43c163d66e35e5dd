// The shapes the admin API answers with: the server's own description of its wire
// (src/server/admin-types.ts), imported as types only, so the page and the server cannot
// drift apart without the compiler saying so.
export type {
  AddedEndpoint,
  DayStats,
  DeliveryDetail,
  DeliveryPage,
  EndpointView,
  EraseResult,
  HourStats,
  PanelState,
  PayloadType,
  ReplayResult,
  RevealedSecret,
  RotatedSecret,
  StatusCounts,
  StorageRequest,
  StorageVerifyReport,
  StorageView,
  TestResult,
  TypeFilter,
  VerifyReport,
  WireSettings,
} from '../../src/server/admin-types.js';
