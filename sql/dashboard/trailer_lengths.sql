-- Crawl quality: how far the trailer's declared length is from its real length, over complete trailers.
select related_actual_bytes - related_declared_bytes as bytes_off, count(*) as captures
from captures
where related_status in ('ok', 'empty')
group by all
order by bytes_off
