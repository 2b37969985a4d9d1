-- What PostGraphile needs beside the hub's tables to answer the bench's workloads, in its own schema
-- so the hub's schema (and its migration check) never sees it. Applied by bench/setup.py.
create schema if not exists bench_peer;

-- Workload 4: population by sex and facility. PostGraphile has no GROUP BY without a plugin; a view
-- is its documented way to expose one. Same rule as the hub: current statuses, location = facility
-- or, for people under supervision, their office.
create or replace view bench_peer.population_by_sex_facility as
  select p.sex, coalesce(p.current_facility_id, p.supervision_office_id) as facility_id,
         f.name as facility_name, count(*)::int as people
    from public.people p
    left join public.facilities f on f.id = coalesce(p.current_facility_id, p.supervision_office_id)
   where p.status in ('incarcerated', 'supervised', 'escaped')
   group by 1, 2, 3;

-- Workload 5: submit an inquiry, as the hub does (reference from the id, due in 14 days).
create or replace function bench_peer.submit_inquiry(
  category text, channel text, requester_name text, summary text, details text
) returns public.inquiries language sql volatile as $$
  with n as (select nextval('public.inquiries_id_seq') as id)
  insert into public.inquiries (id, reference, source, category, channel, status, partner_id,
                                requester_name, summary, details, received_at, due_on, reopened_count)
  select n.id, 'INQ-' || extract(year from now())::int || '-' || lpad(n.id::text, 6, '0'),
         'legislative', category, 'api', 'received', null, requester_name, summary, details, now(),
         (now() + interval '14 days')::date, 0
    from n
  returning *;
$$;
