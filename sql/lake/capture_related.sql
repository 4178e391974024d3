-- The capture_related dataset (internal, for rebuilds), partitioned like its capture.
select year(c.published_at) as year, month(c.published_at) as month, r.*
from capture_related as r
inner join captures as c using (source_path)
