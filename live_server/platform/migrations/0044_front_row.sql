-- A show's "front row": how many viewers get real-time WebRTC video; everyone after them
-- watches over LL-HLS (standard latency). NULL: everyone gets WebRTC while a node has room.
ALTER TABLE live_sessions ADD COLUMN front_row INTEGER;
